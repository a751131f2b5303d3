using System.CommandLine;
using CipherChat.Client;

namespace CipherChat.Cli.Commands;

/// <summary>
/// <c>cipherchat room create|invite|remove|join|leave</c> and <c>cipherchat rooms</c>.
/// </summary>
internal static class RoomCommands
{
    private const string NameRules = "1-32 characters of a-z 0-9 . _ - (a leading # is ignored)";

    public static Command CreateRoom(CliEnvironment env)
    {
        var command = new Command("room", "Create MLS rooms and manage their members; join and leave rooms")
        {
            CreateCreate(env),
            CreateInvite(env),
            CreateRemove(env),
            CreateJoin(env),
            CreateLeave(env),
        };
        return command;
    }

    private static Command CreateCreate(CliEnvironment env)
    {
        var name = new Argument<string>("NAME") { Description = "The new room: " + NameRules };
        var adminsOnly = new Option<bool>("--admins-only") { Description = "Only admins (you, at first) may invite or remove members; without it any member may" };
        var command = new Command("create", "Create an end-to-end encrypted MLS room; you are its first member and its admin") { name, adminsOnly };
        command.SetAction((parse, cancellationToken) =>
        {
            var context = new CommandContext("create");
            return CommandRunner.RunAsync(env, context, async (client, ct) =>
            {
                var text = parse.GetValue(name) ?? string.Empty;
                if (text.StartsWith('@'))
                {
                    throw new InvalidNameException($"a direct conversation is started by sending to it: cipherchat dm {text[1..]} \"hello\"");
                }

                var room = Names.NormalizeRoom(text);
                context.Room = room;
                var restricted = parse.GetValue(adminsOnly);
                var result = await client.CreateRoomAsync(room, restricted, ct);
                env.Out.WriteLine($"created the MLS room #{result.Room}; you are its admin and, for now, its only member");
                env.Out.WriteLine(restricted
                    ? $"only admins may add or remove members; add people with: cipherchat room invite {result.Room} USER"
                    : $"any member may add or remove members; add people with: cipherchat room invite {result.Room} USER");
                env.Out.Flush();
                return CliErrors.Success;
            }, cancellationToken);
        });
        return command;
    }

    private static Command CreateInvite(CliEnvironment env)
    {
        var name = new Argument<string>("NAME") { Description = "The MLS room" };
        var user = new Argument<string>("USER") { Description = "The user to add; they must have logged in at least once since registering" };
        var command = new Command("invite", "Add USER to an MLS room: from now on they read what is sent there (not what was sent before)") { name, user };
        command.SetAction((parse, cancellationToken) => MembershipAsync(env, "invite", parse.GetValue(name), parse.GetValue(user), cancellationToken));
        return command;
    }

    private static Command CreateRemove(CliEnvironment env)
    {
        var name = new Argument<string>("NAME") { Description = "The MLS room" };
        var user = new Argument<string>("USER") { Description = "The member to remove" };
        var command = new Command("remove", "Remove USER from an MLS room: the group's keys change, so they cannot read what follows") { name, user };
        command.SetAction((parse, cancellationToken) => MembershipAsync(env, "remove", parse.GetValue(name), parse.GetValue(user), cancellationToken));
        return command;
    }

    private static Task<int> MembershipAsync(CliEnvironment env, string action, string? roomText, string? userText, CancellationToken cancellationToken)
    {
        var context = new CommandContext(action);
        return CommandRunner.RunAsync(env, context, async (client, ct) =>
        {
            var user = Names.NormalizeUser(userText?.TrimStart('@'));
            context.User = user;
            var room = client.ResolveRoomName(roomText ?? string.Empty);
            context.Room = client.DisplayName(room);
            await CommandRunner.LoginAsync(client, context, ct);
            await CommandRunner.EnsureRoomAsync(client, room, ct);
            var shown = CliErrors.Show(context.Room);
            if (action == "invite")
            {
                var change = await client.InviteAsync(room, user, ct);
                env.Out.WriteLine($"added {change.User} to {shown} (epoch {change.Epoch}); they can read what is sent from now on");
            }
            else
            {
                var change = await client.RemoveAsync(room, user, ct);
                env.Out.WriteLine($"removed {change.User} from {shown} (epoch {change.Epoch}); they cannot read what is sent from now on");
            }

            env.Out.Flush();
            return CliErrors.Success;
        }, cancellationToken);
    }

    private static Command CreateJoin(CliEnvironment env)
    {
        var name = new Argument<string>("NAME") { Description = "The room: " + NameRules };
        var key = new Option<string>("--key") { Description = "The room's Fernet key (from 'cipherchat keygen', shared out of band)", Required = true };
        var command = new Command("join", "Join a pre-shared-key room with its Fernet key (the first join creates it): the original workflow") { name, key };
        command.SetAction((parse, cancellationToken) =>
        {
            var context = new CommandContext("join");
            return CommandRunner.RunAsync(env, context, async (client, ct) =>
            {
                var text = parse.GetValue(name) ?? string.Empty;
                if (text.StartsWith('@'))
                {
                    throw new InvalidNameException($"a direct conversation has no key to join with: start it with cipherchat dm {text[1..]} \"hello\"");
                }

                var room = Names.NormalizeRoom(text);
                context.Room = room;
                var result = await client.JoinPskRoomAsync(room, parse.GetValue(key)!, ct);
                env.Out.WriteLine(result.Created ? $"created and joined #{result.Room}" : $"joined #{result.Room}");
                env.Out.Flush();
                return CliErrors.Success;
            }, cancellationToken);
        });
        return command;
    }

    private static Command CreateLeave(CliEnvironment env)
    {
        var name = new Argument<string>("NAME") { Description = "The room to leave (NAME, #NAME, or @USER for a direct conversation)" };
        var command = new Command("leave", "Leave a room; the messages received so far stay on this device") { name };
        command.SetAction((parse, cancellationToken) =>
        {
            var context = new CommandContext("leave");
            return CommandRunner.RunAsync(env, context, async (client, ct) =>
            {
                var room = client.ResolveRoomName(parse.GetValue(name) ?? string.Empty);
                context.Room = client.DisplayName(room);
                await client.LeaveRoomAsync(room, ct);
                env.Out.WriteLine($"left {CliErrors.Show(context.Room)}");
                env.Out.Flush();
                return CliErrors.Success;
            }, cancellationToken);
        });
        return command;
    }

    public static Command CreateRooms(CliEnvironment env)
    {
        var command = new Command("rooms", "List the rooms you are in: name, kind (mls, direct, psk) and number of messages");
        command.SetAction((parse, cancellationToken) => CommandRunner.RunAsync(env, new CommandContext("rooms"), async (client, ct) =>
        {
            var rooms = await client.ListRoomsAsync(ct);
            foreach (var room in rooms)
            {
                var direct = room.Name.StartsWith('@');
                var shown = CliErrors.Show(client.DisplayName(room.Name));
                var kind = direct ? "direct" : room.Kind;
                var note = room.HasKeyHere ? string.Empty
                    : string.Equals(room.Kind, Client.Rooms.RoomKinds.Psk, StringComparison.Ordinal) ? "  (no key on this device: join it again with --key)"
                    : $"  (invitation not opened yet: 'cipherchat read --room {client.DisplayName(room.Name)}' opens it)";
                env.Out.WriteLine($"{shown}\t{kind}\t{room.LastSeq} messages{note}");
            }

            env.Out.Flush();
            return CliErrors.Success;
        }, cancellationToken));
        return command;
    }
}
