using System.CommandLine;

namespace CipherChat.Cli.Commands;

/// <summary><c>cipherchat room join NAME --key KEY</c>, <c>cipherchat room leave NAME</c> and <c>cipherchat rooms</c>.</summary>
internal static class RoomCommands
{
    public static Command CreateRoom(CliEnvironment env)
    {
        var command = new Command("room", "Join and leave rooms");
        command.Subcommands.Add(CreateJoin(env));
        command.Subcommands.Add(CreateLeave(env));
        return command;
    }

    private static Command CreateJoin(CliEnvironment env)
    {
        var name = new Argument<string>("NAME") { Description = "The room: 1-32 characters of a-z 0-9 . _ - (a leading # is ignored)" };
        var key = new Option<string>("--key") { Description = "The room's Fernet key (from 'cipherchat keygen', shared out of band)", Required = true };
        var command = new Command("join", "Join a pre-shared-key room with its Fernet key (the first join creates it)") { name, key };
        command.SetAction((parse, cancellationToken) => CommandRunner.RunAsync(env, async (client, ct) =>
        {
            var result = await client.JoinPskRoomAsync(parse.GetValue(name)!, parse.GetValue(key)!, ct);
            env.Out.WriteLine(result.Created ? $"created and joined #{result.Room}" : $"joined #{result.Room}");
            env.Out.Flush();
            return CliErrors.Success;
        }, cancellationToken));
        return command;
    }

    private static Command CreateLeave(CliEnvironment env)
    {
        var name = new Argument<string>("NAME") { Description = "The room to leave" };
        var command = new Command("leave", "Leave a room and forget its key on this device (received messages stay)") { name };
        command.SetAction((parse, cancellationToken) => CommandRunner.RunAsync(env, async (client, ct) =>
        {
            var room = Client.Names.NormalizeRoom(parse.GetValue(name));
            await client.LeaveRoomAsync(room, ct);
            env.Out.WriteLine($"left #{room}");
            env.Out.Flush();
            return CliErrors.Success;
        }, cancellationToken));
        return command;
    }

    public static Command CreateRooms(CliEnvironment env)
    {
        var command = new Command("rooms", "List the rooms you are in");
        command.SetAction((parse, cancellationToken) => CommandRunner.RunAsync(env, async (client, ct) =>
        {
            var rooms = await client.ListRoomsAsync(ct);
            foreach (var room in rooms)
            {
                var note = room.HasKeyHere ? string.Empty : "  (no key on this device: join it again with --key)";
                env.Out.WriteLine($"#{room.Name}\t{room.Kind}\t{room.LastSeq} messages{note}");
            }

            env.Out.Flush();
            return CliErrors.Success;
        }, cancellationToken));
        return command;
    }
}
