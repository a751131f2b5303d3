using CipherChat.Tui.Backend;
using CipherChat.Tui.ViewModels;

namespace CipherChat.Tui.Tests.ViewModels;

public sealed class RoomListModelTests
{
    private static RoomListModel With(params string[] names)
    {
        var list = new RoomListModel();
        list.SetRooms(names.Select(n => new RoomInfo(n, "shared key")));
        return list;
    }

    [Fact]
    public void Rooms_come_before_direct_conversations_and_the_first_is_shown()
    {
        var list = With("@zed", "books", "@amy", "art");

        Assert.Equal(["art", "books", "@amy", "@zed"], list.Rooms.Select(r => r.Name));
        Assert.Equal("art", list.Active?.Name);
        Assert.True(list.Rooms[2].Room.IsDirect);
    }

    [Fact]
    public void Unread_counts_grow_for_hidden_rooms_and_clear_when_shown()
    {
        var list = With("art", "books");
        list.CountMessage("art", mention: false);
        list.CountMessage("books", mention: false);
        list.CountMessage("books", mention: true);

        Assert.Equal(0, list.Rooms[0].Unread);
        Assert.Equal("2 books (2!)", RoomListModel.Label(list.Rooms[1], 1));

        Assert.True(list.Activate("BOOKS"));
        Assert.Equal("2 books", RoomListModel.Label(list.Rooms[1], 1));
    }

    [Fact]
    public void Next_and_previous_wrap_around()
    {
        var list = With("a", "b", "c");

        list.Previous();
        Assert.Equal("c", list.Active?.Name);
        list.Next();
        Assert.Equal("a", list.Active?.Name);
    }

    [Fact]
    public void Replacing_the_list_keeps_the_shown_room_and_unread_counts()
    {
        var list = With("a", "b");
        list.Activate("b");
        list.CountMessage("a", mention: false);

        list.SetRooms([new RoomInfo("a", "shared key"), new RoomInfo("b", "MLS epoch 2, 3 members"), new RoomInfo("c", "shared key")]);

        Assert.Equal("b", list.Active?.Name);
        Assert.Equal("MLS epoch 2, 3 members", list.Active?.Room.Encryption);
        Assert.Equal(1, list.Rooms[0].Unread);
    }

    [Fact]
    public void Switching_to_a_missing_index_fails()
    {
        var list = With("a");

        Assert.False(list.ActivateIndex(3));
        Assert.False(list.Activate("nope"));
        Assert.Equal("a", list.Active?.Name);
    }
}

public sealed class InputHistoryTests
{
    [Fact]
    public void Up_walks_back_and_down_returns_to_the_draft()
    {
        var h = new InputHistory();
        h.Add("first");
        h.Add("second");

        Assert.Equal("second", h.Up("draft"));
        Assert.Equal("first", h.Up("second"));
        Assert.Null(h.Up("first"));
        Assert.Equal("second", h.Down());
        Assert.Equal("draft", h.Down());
        Assert.Null(h.Down());
    }

    [Fact]
    public void Blank_lines_and_repeats_are_not_recorded()
    {
        var h = new InputHistory();
        h.Add("same");
        h.Add("same");
        h.Add("   ");

        Assert.Equal(["same"], h.Lines);
    }

    [Fact]
    public void History_is_bounded()
    {
        var h = new InputHistory();
        for (var i = 0; i < InputHistory.Capacity + 10; i++)
        {
            h.Add($"line {i}");
        }

        Assert.Equal(InputHistory.Capacity, h.Lines.Count);
        Assert.Equal("line 10", h.Lines[0]);
    }
}

public sealed class CommandParserTests
{
    [Fact]
    public void Text_is_a_message_kept_as_typed()
    {
        var p = CommandParser.Parse("  hello  world ");

        Assert.Equal(InputKind.Message, p.Kind);
        Assert.Equal("  hello  world ", p.Text);
    }

    [Fact]
    public void A_slash_line_is_a_command_with_arguments()
    {
        var p = CommandParser.Parse("/JOIN  general   KEY==");

        Assert.Equal(InputKind.Command, p.Kind);
        Assert.Equal("join", p.Name);
        Assert.Equal(["general", "KEY=="], p.Arguments);
    }

    [Fact]
    public void Double_slash_sends_a_line_starting_with_slash()
    {
        var p = CommandParser.Parse("//shrug");

        Assert.Equal(InputKind.Message, p.Kind);
        Assert.Equal("/shrug", p.Text);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public void Blank_input_is_empty(string line) => Assert.Equal(InputKind.Empty, CommandParser.Parse(line).Kind);

    [Theory]
    [InlineData("/exit", "quit")]
    [InlineData("/part", "leave")]
    [InlineData("/query bob", "dm")]
    public void Aliases_map_to_commands(string line, string name) => Assert.Equal(name, CommandParser.Parse(line).Name);

    [Fact]
    public void Every_command_of_the_product_is_known()
    {
        foreach (var name in new[] { "join", "create", "invite", "remove", "dm", "leave", "whois", "rooms", "switch", "help", "quit" })
        {
            Assert.NotNull(CommandParser.Find(name));
        }

        Assert.Null(CommandParser.Find("frobnicate"));
    }
}

public sealed class StatusBarModelTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 27, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Shows_user_server_connection_and_room_encryption()
    {
        var s = new StatusBarModel("chat.test:12345", "alice")
        {
            Connection = new ConnectionStatus(ConnectionState.Connected),
            Room = new RoomInfo("general", "MLS epoch 4, 3 members"),
        };

        Assert.Equal("alice@chat.test:12345 | connected | general: MLS epoch 4, 3 members", s.Render(Now));
    }

    [Fact]
    public void Reconnecting_counts_down_in_whole_seconds()
    {
        var status = new ConnectionStatus(ConnectionState.Reconnecting, Now.AddSeconds(4.2));

        Assert.Equal("reconnecting in 5s", StatusBarModel.DescribeConnection(status, Now));
        Assert.Equal("reconnecting in 1s", StatusBarModel.DescribeConnection(status, Now.AddSeconds(4)));
        Assert.Equal("reconnecting", StatusBarModel.DescribeConnection(status, Now.AddSeconds(5)));
    }

    [Fact]
    public void Scrollback_is_announced()
    {
        var s = new StatusBarModel("h:1", "u") { ScrolledBack = true };

        Assert.EndsWith("-- more below (PgDn) --", s.Render(Now), StringComparison.Ordinal);
        Assert.Contains("no room", s.Render(Now), StringComparison.Ordinal);
    }
}
