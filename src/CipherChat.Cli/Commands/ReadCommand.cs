using System.CommandLine;
using CipherChat.Client;
using CipherChat.Client.Storage;

namespace CipherChat.Cli.Commands;

/// <summary>
/// <c>cipherchat read --room NAME [--follow] [--all] [--json]</c>: catches up with the server, then prints
/// the messages not printed before (or all with --all), oldest first; --follow keeps going.
/// </summary>
internal static class ReadCommand
{
    public static Command Create(CliEnvironment env)
    {
        var room = new Option<string>("--room") { Description = "The room to read", Required = true };
        var follow = new Option<bool>("--follow") { Description = "Keep printing new messages as they arrive (reconnects by itself; Ctrl-C to stop)" };
        var all = new Option<bool>("--all") { Description = "Print the whole history this client holds, not only new messages" };
        var json = new Option<bool>("--json") { Description = "One JSON object per line: id, room, from, sent_at, received_at, text or error" };
        var command = new Command("read", "Print a room's new messages") { room, follow, all, json };
        command.SetAction((parse, cancellationToken) => CommandRunner.RunAsync(env, async (client, ct) =>
        {
            var name = Names.NormalizeRoom(parse.GetValue(room));
            var asJson = parse.GetValue(json);
            var printAll = parse.GetValue(all);
            if (client.Store.GetRoom(name) is null)
            {
                throw new ClientStateException($"you have not joined room '{name}' on this device: run 'cipherchat room join {name} --key KEY'");
            }

            if (!parse.GetValue(follow))
            {
                await client.SyncRoomAsync(name, ct);
                Print(env, client.Store, name, unprintedOnly: !printAll, asJson);
                return CliErrors.Success;
            }

            var first = true;
            try
            {
                await client.FollowAsync(
                    name,
                    _ =>
                    {
                        Print(env, client.Store, name, unprintedOnly: !(printAll && first), asJson);
                        first = false;
                        return Task.CompletedTask;
                    },
                    status => CliErrors.Line(env, status),
                    ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                // Ctrl-C ends --follow normally.
            }

            return CliErrors.Success;
        }, cancellationToken));
        return command;
    }

    /// <summary>Prints in sequence order and marks each message printed right after writing it.</summary>
    private static void Print(CliEnvironment env, ClientStore store, string room, bool unprintedOnly, bool asJson)
    {
        foreach (var message in store.GetMessages(room, unprintedOnly))
        {
            env.Out.WriteLine(asJson ? MessageFormat.Json(message) : MessageFormat.Human(message, TimeZoneInfo.Local));
            env.Out.Flush();
            if (!message.Printed)
            {
                store.MarkPrinted(room, message.Seq);
            }
        }
    }
}
