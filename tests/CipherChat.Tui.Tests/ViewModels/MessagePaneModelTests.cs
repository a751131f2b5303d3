using CipherChat.Tui.Backend;
using CipherChat.Tui.ViewModels;

namespace CipherChat.Tui.Tests.ViewModels;

public sealed class MessagePaneModelTests
{
    private static readonly TimeZoneInfo PlusTwo = TimeZoneInfo.CreateCustomTimeZone("test+2", TimeSpan.FromHours(2), "test+2", "test+2");

    private static ChatMessage Msg(string id, string from, string text, DateTimeOffset at) =>
        new(id, "general", from, at, text, null);

    [Fact]
    public void Lines_show_local_time_sender_and_text_after_a_date_separator()
    {
        var pane = new MessagePaneModel("me", PlusTwo);
        pane.AddMessage(Msg("1", "alice", "hello", new DateTimeOffset(2026, 11, 27, 10, 3, 0, TimeSpan.Zero)));

        var rows = pane.Render(60);

        Assert.Equal(2, rows.Count);
        Assert.Equal(LineStyle.DateSeparator, rows[0].Style);
        Assert.Contains("Friday, 27 November 2026", rows[0].Text, StringComparison.Ordinal);
        Assert.Equal(new PaneLine("12:03 alice: hello", LineStyle.Normal), rows[1]);
    }

    [Fact]
    public void A_new_local_day_gets_its_own_separator()
    {
        var pane = new MessagePaneModel("me", PlusTwo);
        // 21:30 UTC is 23:30 local; 22:30 UTC is already the next local day.
        pane.AddMessage(Msg("1", "alice", "late", new DateTimeOffset(2026, 11, 27, 21, 30, 0, TimeSpan.Zero)));
        pane.AddMessage(Msg("2", "bob", "later", new DateTimeOffset(2026, 11, 27, 22, 30, 0, TimeSpan.Zero)));
        pane.AddMessage(Msg("3", "bob", "same day", new DateTimeOffset(2026, 11, 27, 23, 0, 0, TimeSpan.Zero)));

        var rows = pane.Render(60);

        Assert.Equal(
            [LineStyle.DateSeparator, LineStyle.Normal, LineStyle.DateSeparator, LineStyle.Normal, LineStyle.Normal],
            rows.Select(r => r.Style));
        Assert.Contains("Saturday, 28 November 2026", rows[2].Text, StringComparison.Ordinal);
        Assert.Equal("00:30 bob: later", rows[3].Text);
    }

    [Fact]
    public void Own_messages_mentions_errors_and_key_changes_have_their_own_styles()
    {
        var pane = new MessagePaneModel("me", TimeZoneInfo.Utc);
        var at = new DateTimeOffset(2026, 1, 2, 3, 4, 0, TimeSpan.Zero);
        pane.AddMessage(Msg("1", "Me", "mine", at));
        pane.AddMessage(Msg("2", "bob", "hey me, look", at));
        pane.AddMessage(new ChatMessage("3", "general", "eve", at, null, "the token does not verify with this room's key"));
        pane.AddMessage(new ChatMessage("4", "general", "bob", at, "bob's key changed: verify it with /whois bob", null, MessageKind.KeyChange));

        var rows = pane.Render(200).Skip(1).ToList();

        Assert.Equal([LineStyle.Own, LineStyle.Mention, LineStyle.Undecryptable, LineStyle.KeyChange], rows.Select(r => r.Style));
        Assert.Equal("03:04 eve: [could not decrypt: the token does not verify with this room's key]", rows[2].Text);
        Assert.StartsWith("03:04 !! bob's key changed", rows[3].Text, StringComparison.Ordinal);
    }

    [Fact]
    public void A_message_with_an_id_already_shown_is_not_shown_twice()
    {
        var pane = new MessagePaneModel("me", TimeZoneInfo.Utc);
        var m = Msg("same", "alice", "once", DateTimeOffset.UnixEpoch);

        Assert.True(pane.AddMessage(m));
        Assert.False(pane.AddMessage(m));
        Assert.Equal(1, pane.EntryCount);
    }

    [Fact]
    public void Long_lines_wrap_under_the_text_within_the_width()
    {
        var pane = new MessagePaneModel("me", TimeZoneInfo.Utc);
        pane.AddMessage(Msg("1", "alice", string.Join(' ', Enumerable.Repeat("word", 20)), DateTimeOffset.UnixEpoch));

        var rows = pane.Render(30).Skip(1).ToList();

        Assert.True(rows.Count > 2);
        Assert.All(rows, r => Assert.True(TextWidth.Of(r.Text) <= 30, r.Text));
        Assert.StartsWith("00:00 alice: word", rows[0].Text, StringComparison.Ordinal);
        Assert.All(rows.Skip(1), r => Assert.StartsWith("      word", r.Text, StringComparison.Ordinal));
        Assert.Equal(20, rows.Sum(r => r.Text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Count(w => w == "word")));
    }

    [Fact]
    public void Page_up_and_down_move_through_scrollback_and_stop_at_both_ends()
    {
        var pane = new MessagePaneModel("me", TimeZoneInfo.Utc);
        for (var i = 0; i < 30; i++)
        {
            pane.AddMessage(Msg($"{i}", "alice", $"line {i}", DateTimeOffset.UnixEpoch.AddMinutes(i)));
        }

        // 31 rows (separator + 30) in a pane 10 rows tall.
        Assert.Equal("00:29 alice: line 29", pane.Visible(40, 10)[^1].Text);

        pane.PageUp(40, 10);
        Assert.True(pane.IsScrolledBack);
        Assert.Equal("00:20 alice: line 20", pane.Visible(40, 10)[^1].Text);

        pane.PageUp(40, 10);
        pane.PageUp(40, 10);
        pane.PageUp(40, 10);
        var top = pane.Visible(40, 10);
        Assert.Equal(LineStyle.DateSeparator, top[0].Style);
        Assert.Equal(10, top.Count);

        for (var i = 0; i < 5; i++)
        {
            pane.PageDown(10);
        }

        Assert.False(pane.IsScrolledBack);
        Assert.Equal("00:29 alice: line 29", pane.Visible(40, 10)[^1].Text);
    }

    [Fact]
    public void New_messages_do_not_move_the_rows_the_user_scrolled_back_to()
    {
        var pane = new MessagePaneModel("me", TimeZoneInfo.Utc);
        for (var i = 0; i < 30; i++)
        {
            pane.AddMessage(Msg($"{i}", "alice", $"line {i}", DateTimeOffset.UnixEpoch.AddMinutes(i)));
        }

        pane.PageUp(40, 10);
        var before = pane.Visible(40, 10);
        pane.AddMessage(Msg("new", "bob", "news", DateTimeOffset.UnixEpoch.AddMinutes(40)));

        Assert.Equal(before, pane.Visible(40, 10));
        pane.ScrollToBottom();
        Assert.Equal("00:40 bob: news", pane.Visible(40, 10)[^1].Text);
    }

    [Fact]
    public void Info_and_error_lines_are_marked()
    {
        var pane = new MessagePaneModel("me", TimeZoneInfo.Utc);
        pane.AddInfo("Joined general", DateTimeOffset.UnixEpoch);
        pane.AddInfo("Unknown command /frob", DateTimeOffset.UnixEpoch, isError: true);

        var rows = pane.Render(60).Skip(1).ToList();

        Assert.Equal(new PaneLine("00:00 -- Joined general", LineStyle.Info), rows[0]);
        Assert.Equal(new PaneLine("00:00 !! Unknown command /frob", LineStyle.Error), rows[1]);
    }
}
