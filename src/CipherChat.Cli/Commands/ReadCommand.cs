using System.CommandLine;
using CipherChat.Client;
using CipherChat.Client.Storage;

namespace CipherChat.Cli.Commands;

/// <summary>
/// <c>cipherchat read --room NAME [--follow] [--all] [--json]</c>: catches up with the server (opening
/// pending MLS invitations first), then prints the messages not printed before (or all with --all),
/// oldest first; --follow keeps going.
/// </summary>
internal static class ReadCommand
{
    public static Command Create(CliEnvironment env)
    {
        var room = new Option<string>("--room") { Description = "The room to read: NAME, #NAME, or @USER for a direct conversation", Required = true };
        var follow = new Option<bool>("--follow") { Description = "Keep printing new messages as they arrive (reconnects by itself; Ctrl-C to stop)" };
        var all = new Option<bool>("--all") { Description = "Print the whole history this client holds, not only new messages" };
        var json = new Option<bool>("--json") { Description = "One JSON object per line: id, room, seq, from, sent_at, server_time, received_at, then text or error" };
        var command = new Command("read", "Print a room's new messages, oldest first") { room, follow, all, json };
        command.SetAction((parse, cancellationToken) =>
        {
            var context = new CommandContext("read");
            return CommandRunner.RunAsync(env, context, async (client, ct) =>
            {
                var name = client.ResolveRoomName(parse.GetValue(room) ?? string.Empty);
                var shown = client.DisplayName(name);
                context.Room = shown;
                var asJson = parse.GetValue(json);
                var printAll = parse.GetValue(all);
                if (!parse.GetValue(follow))
                {
                    await client.SyncRoomAsync(name, ct);
                    Print(env, client.Store, name, shown, unprintedOnly: !printAll, asJson);
                    return CliErrors.Success;
                }

                if (client.Store.GetRoom(name) is null)
                {
                    // An MLS room known only from a pending invitation: the sync opens it (or says why not).
                    await client.SyncRoomAsync(name, ct);
                }

                var first = true;
                try
                {
                    await client.FollowAsync(
                        name,
                        _ =>
                        {
                            Print(env, client.Store, name, shown, unprintedOnly: !(printAll && first), asJson);
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
            }, cancellationToken);
        });
        return command;
    }

    /// <summary>Prints in sequence order and marks each message printed right after writing it.</summary>
    private static void Print(CliEnvironment env, ClientStore store, string room, string shown, bool unprintedOnly, bool asJson)
    {
        foreach (var message in store.GetMessages(room, unprintedOnly))
        {
            env.Out.WriteLine(asJson ? MessageFormat.Json(message, shown) : MessageFormat.Human(message, TimeZoneInfo.Local));
            env.Out.Flush();
            if (!message.Printed)
            {
                store.MarkPrinted(room, message.Seq);
            }
        }
    }
}
