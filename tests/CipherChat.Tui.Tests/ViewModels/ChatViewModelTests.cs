using CipherChat.Tui.Backend;
using CipherChat.Tui.Tests.Support;
using CipherChat.Tui.ViewModels;
using Microsoft.Extensions.Time.Testing;

namespace CipherChat.Tui.Tests.ViewModels;

public sealed class ChatViewModelTests : IDisposable
{
    private const string Key = "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=";

    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 27, 12, 0, 0, TimeSpan.Zero));
    private readonly FakeChatBackend _backend;
    private readonly ChatViewModel _vm;
    private int _bells;
    private int _quits;

    public ChatViewModelTests()
    {
        _backend = new FakeChatBackend("alice", _time);
        _vm = new ChatViewModel(_backend, _time, TimeZoneInfo.Utc, a => a());
        _vm.BellRequested += (_, _) => _bells++;
        _vm.QuitRequested += (_, _) => _quits++;
    }

    public void Dispose() => _vm.Dispose();

    private List<string> PaneText() => _vm.CurrentPane.Render(200).Select(r => r.Text).ToList();

    private PaneLine LastRow() => _vm.CurrentPane.Render(200)[^1];

    private async Task StartWith(params string[] rooms)
    {
        foreach (var r in rooms)
        {
            _backend.AddRoom(r);
        }

        await _vm.StartAsync(null, TestContext.Current.CancellationToken);
    }

    [Fact]
    public async Task Start_loads_rooms_and_history_and_connects()
    {
        _backend.AddRoom("general", "shared key", _backend.Message("general", "bob", "earlier"));

        await _vm.StartAsync(null, TestContext.Current.CancellationToken);

        Assert.Equal("general", _vm.Rooms.Active?.Name);
        Assert.Contains("12:00 bob: earlier", PaneText());
        Assert.Equal("alice@chat.test:12345 | connected | general: shared key", _vm.Status.Render(_time.GetUtcNow()));
    }

    [Fact]
    public async Task Start_without_rooms_explains_how_to_begin()
    {
        await _vm.StartAsync(null, TestContext.Current.CancellationToken);

        Assert.Same(_vm.StatusPane, _vm.CurrentPane);
        var text = string.Join('\n', PaneText());
        Assert.Contains("/join NAME KEY", text, StringComparison.Ordinal);
        Assert.Contains("not in any room", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_opens_the_requested_room()
    {
        _backend.AddRoom("art");
        _backend.AddRoom("books");

        await _vm.StartAsync("#Books", TestContext.Current.CancellationToken);

        Assert.Equal("books", _vm.Rooms.Active?.Name);
    }

    [Fact]
    public async Task Typed_text_is_sent_to_the_shown_room_and_appears_once()
    {
        await StartWith("general");

        await _vm.SubmitAsync("hello 👋");

        Assert.Equal([("general", "hello 👋")], _backend.Sent);
        Assert.Equal(new PaneLine("12:00 alice: hello 👋", LineStyle.Own), LastRow());
        Assert.Equal(["hello 👋"], _vm.History.Lines);
    }

    [Fact]
    public async Task Sending_without_a_room_says_what_to_do()
    {
        await StartWith();

        await _vm.SubmitAsync("anyone?");

        Assert.Empty(_backend.Sent);
        Assert.Equal(LineStyle.Error, LastRow().Style);
        Assert.Contains("/join", LastRow().Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Live_messages_count_as_unread_in_hidden_rooms()
    {
        await StartWith("art", "books");

        _backend.Deliver(_backend.Message("books", "bob", "psst"));
        _backend.Deliver(_backend.Message("art", "bob", "shown"));

        Assert.Equal(1, _vm.Rooms.Rooms[1].Unread);
        Assert.Equal(0, _vm.Rooms.Rooms[0].Unread);
        Assert.Contains("12:00 bob: shown", PaneText());
        Assert.Equal(0, _bells);
    }

    [Fact]
    public async Task A_mention_rings_the_bell_and_is_styled()
    {
        await StartWith("general");

        _backend.Deliver(_backend.Message("general", "bob", "alice: lunch?"));

        Assert.Equal(1, _bells);
        Assert.Equal(LineStyle.Mention, LastRow().Style);
    }

    [Fact]
    public async Task The_users_own_name_in_her_own_message_does_not_ring()
    {
        await StartWith("general");

        await _vm.SubmitAsync("this is alice speaking");

        Assert.Equal(0, _bells);
    }

    [Fact]
    public async Task A_message_for_an_unknown_room_adds_it_to_the_list()
    {
        await StartWith("general");

        _backend.Deliver(_backend.Message("@bob", "bob", "hi there"));

        Assert.Equal(1, _vm.Rooms.IndexOf("@bob"));
        Assert.Equal(1, _vm.Rooms.Rooms[1].Unread);
        Assert.Equal(1, _bells);
    }

    [Fact]
    public async Task Join_with_a_key_enters_the_room()
    {
        await StartWith();

        await _vm.SubmitAsync($"/join #Friends {Key}");

        Assert.Contains($"join friends {Key}", _backend.Calls);
        Assert.Equal("friends", _vm.Rooms.Active?.Name);
        Assert.Contains("Joined friends (shared key)", LastRow().Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Join_without_a_key_switches_to_a_known_room_or_asks_for_the_key()
    {
        await StartWith("art", "books");

        await _vm.SubmitAsync("/join books");
        Assert.Equal("books", _vm.Rooms.Active?.Name);

        await _vm.SubmitAsync("/join music");
        Assert.Equal(LineStyle.Error, LastRow().Style);
        Assert.Contains("/join music KEY", LastRow().Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Client_errors_become_pane_lines()
    {
        await StartWith("general");

        await _vm.SubmitAsync("/join other not-a-key");
        Assert.Equal(LineStyle.Error, LastRow().Style);
        Assert.Contains("not a Fernet key", LastRow().Text, StringComparison.Ordinal);

        _backend.FailWith = "the server cannot be reached";
        await _vm.SubmitAsync("hello");
        Assert.Equal(new PaneLine("12:00 !! the server cannot be reached", LineStyle.Error), LastRow());
    }

    [Theory]
    [InlineData("/frobnicate", "Unknown command /frobnicate")]
    [InlineData("/invite", "Usage: /invite USER")]
    [InlineData("/leave now please", "Usage: /leave")]
    [InlineData("/switch 7", "There is no room 7")]
    [InlineData("/switch nowhere", "You are not in nowhere")]
    [InlineData("/help frob", "There is no command frob")]
    public async Task Bad_commands_answer_in_the_pane(string line, string expected)
    {
        await StartWith("general");

        await _vm.SubmitAsync(line);

        Assert.Equal(LineStyle.Error, LastRow().Style);
        Assert.Contains(expected, LastRow().Text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/create team", "create team")]
    [InlineData("/create #Team --admins-only", "create team admins-only")]
    [InlineData("/invite @bob", "invite general bob")]
    [InlineData("/remove bob", "remove general bob")]
    [InlineData("/dm @bob", "dm bob")]
    [InlineData("/whois bob", "whois bob")]
    [InlineData("/leave", "leave general")]
    public async Task Mls_commands_reach_the_backend(string line, string call)
    {
        await StartWith("general");

        await _vm.SubmitAsync(line);

        Assert.Equal([call], _backend.Calls);
        Assert.NotEqual(LineStyle.Error, LastRow().Style);
    }

    [Fact]
    public async Task Create_refuses_an_unknown_second_word()
    {
        await StartWith("general");

        await _vm.SubmitAsync("/create team everyone");

        Assert.Empty(_backend.Calls);
        Assert.Equal(LineStyle.Error, LastRow().Style);
        Assert.Contains("Usage: /create NAME [--admins-only]", LastRow().Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Mls_refusals_are_shown_as_errors()
    {
        await StartWith("general");
        _backend.FailWith = "bob has not logged in since registering: ask bob to run any cipherchat command";

        await _vm.SubmitAsync("/invite bob");

        Assert.Equal(LineStyle.Error, LastRow().Style);
        Assert.Contains("bob has not logged in since registering", LastRow().Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Mls_commands_work_when_the_backend_has_them()
    {
        await StartWith("general");

        await _vm.SubmitAsync("/create team");
        Assert.Equal("team", _vm.Rooms.Active?.Name);
        await _vm.SubmitAsync("/invite @bob");
        Assert.Contains("invite team bob", _backend.Calls);
        Assert.Contains("Invited bob to team.", PaneText().Last(), StringComparison.Ordinal);
        await _vm.SubmitAsync("/remove bob");
        Assert.Contains("remove team bob", _backend.Calls);
        await _vm.SubmitAsync("/dm bob");
        Assert.Equal("@bob", _vm.Rooms.Active?.Name);
        Assert.Equal("alice@chat.test:12345 | connected | @bob: MLS epoch 1, 2 members", _vm.Status.Render(_time.GetUtcNow()));
    }

    [Fact]
    public async Task Backend_warnings_are_shown_loudly()
    {
        await StartWith("general");

        _backend.RaiseWarning("WARNING: THE KEY OF 'bob' HAS CHANGED");

        Assert.Equal(new PaneLine("12:00 !! WARNING: THE KEY OF 'bob' HAS CHANGED", LineStyle.Error), LastRow());
    }

    [Fact]
    public async Task Leave_removes_the_shown_room()
    {
        await StartWith("art", "books");

        await _vm.SubmitAsync("/leave");

        Assert.Contains("leave art", _backend.Calls);
        Assert.Equal(["books"], _vm.Rooms.Rooms.Select(r => r.Name));
        Assert.Contains("You left art.", PaneText().Last(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rooms_and_help_list_what_there_is()
    {
        await StartWith("art", "books");

        await _vm.SubmitAsync("/rooms");
        Assert.Contains(PaneText(), l => l.Contains("2 books", StringComparison.Ordinal));

        await _vm.SubmitAsync("/help");
        var text = string.Join('\n', PaneText());
        foreach (var c in CommandParser.Commands)
        {
            Assert.Contains(c.Usage, text, StringComparison.Ordinal);
        }

        Assert.Contains("Ctrl+Q", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Help_fits_the_message_pane_of_an_80_by_24_terminal()
    {
        await StartWith("general");
        var before = _vm.CurrentPane.Render(62).Count;

        await _vm.SubmitAsync("/help");

        // 80 columns less the room list leave 62; 22 rows less the status and input lines.
        var rows = _vm.CurrentPane.Render(62).Skip(before).Where(r => r.Style != LineStyle.DateSeparator).ToList();
        Assert.Equal(CommandParser.Commands.Count + 4, rows.Count);
        Assert.True(rows.Count <= 22);
    }

    [Fact]
    public async Task Switching_by_name_number_and_keys()
    {
        await StartWith("a", "b", "c");

        await _vm.SubmitAsync("/switch c");
        Assert.Equal("c", _vm.Rooms.Active?.Name);
        await _vm.SubmitAsync("/switch 2");
        Assert.Equal("b", _vm.Rooms.Active?.Name);
        _vm.SwitchToNumber(1);
        Assert.Equal("a", _vm.Rooms.Active?.Name);
        _vm.PreviousRoom();
        Assert.Equal("c", _vm.Rooms.Active?.Name);
        _vm.NextRoom();
        Assert.Equal("a", _vm.Rooms.Active?.Name);
        Assert.Equal("alice@chat.test:12345 | connected | a: shared key", _vm.Status.Render(_time.GetUtcNow()));
    }

    [Fact]
    public async Task Whois_shows_fingerprint_and_a_qr_code_of_the_safety_number()
    {
        await StartWith("general");
        await _vm.SubmitAsync("/whois bob");
        var text = PaneText();
        Assert.Contains(text, l => l.Contains("bob: key fingerprint SHA256:abcd", StringComparison.Ordinal));
        Assert.Contains(text, l => l.Contains("Safety number with bob: 12345 67890", StringComparison.Ordinal));
        Assert.Contains(text, l => l.Contains('█', StringComparison.Ordinal));
        Assert.DoesNotContain(text, l => l.Contains("CHANGED", StringComparison.Ordinal));

        _backend.KeyChanged = true;
        await _vm.SubmitAsync("/whois bob");
        Assert.Contains(_vm.CurrentPane.Render(200), r => r.Style == LineStyle.Error && r.Text.Contains("THE KEY OF 'bob' HAS CHANGED", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_empty_room_says_so_until_it_has_messages()
    {
        await StartWith("quiet");

        Assert.Equal("No messages in quiet yet. Type one and press Enter.", _vm.EmptyPaneHint);
        await _vm.SubmitAsync("first!");
        Assert.Null(_vm.EmptyPaneHint);
    }

    [Fact]
    public async Task Quit_is_requested_by_command()
    {
        await StartWith("general");

        await _vm.SubmitAsync("/quit");

        Assert.Equal(1, _quits);
        Assert.Empty(_backend.Sent);
    }

    [Fact]
    public async Task Pasting_several_lines_sends_one_message()
    {
        await StartWith("general");

        var outcome = _vm.Paste("see: ", "line one\r\nline two\nline three\n", out var sending);
        await sending;

        Assert.Equal(PasteOutcome.Sent, outcome);
        Assert.Equal([("general", "see: line one\nline two\nline three")], _backend.Sent);
        var rows = PaneText();
        Assert.Equal("12:00 alice: see: line one", rows[^3]);
        Assert.Equal("      line two", rows[^2]);
    }

    [Fact]
    public async Task Pasting_one_line_leaves_it_to_the_input()
    {
        await StartWith("general");

        Assert.Equal(PasteOutcome.Insert, _vm.Paste("", "just this", out _));
        Assert.Equal(PasteOutcome.Ignored, _vm.Paste("", "\r\n", out _));
        Assert.Empty(_backend.Sent);
    }

    [Fact]
    public async Task Connection_changes_reach_the_status_bar()
    {
        await StartWith("general");

        _backend.SetConnection(new ConnectionStatus(ConnectionState.Reconnecting, _time.GetUtcNow().AddSeconds(3), "connection lost"));

        Assert.Contains("reconnecting in 3s", _vm.Status.Render(_time.GetUtcNow()), StringComparison.Ordinal);
        Assert.Equal(new PaneLine("12:00 !! connection lost", LineStyle.Error), LastRow());
        _time.Advance(TimeSpan.FromSeconds(2));
        Assert.Contains("reconnecting in 1s", _vm.Status.Render(_time.GetUtcNow()), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Undecryptable_live_messages_are_shown_styled()
    {
        await StartWith("general");

        _backend.Deliver(new ChatMessage("x", "general", "mallory", _time.GetUtcNow(), null, "the token does not verify"));

        Assert.Equal(new PaneLine("12:00 mallory: [could not decrypt: the token does not verify]", LineStyle.Undecryptable), LastRow());
    }

    [Fact]
    public async Task Too_long_messages_are_refused_in_the_pane()
    {
        await StartWith("general");

        await _vm.SubmitAsync(new string('x', ChatViewModel.MaxMessageLength + 1));

        Assert.Empty(_backend.Sent);
        Assert.Contains("too long", LastRow().Text, StringComparison.Ordinal);
    }
}
