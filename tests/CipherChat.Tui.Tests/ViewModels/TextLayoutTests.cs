using CipherChat.Tui.ViewModels;

namespace CipherChat.Tui.Tests.ViewModels;

public sealed class TextLayoutTests
{
    [Theory]
    [InlineData("hello", 5)]
    [InlineData("", 0)]
    [InlineData("日本", 4)]
    [InlineData("👍", 2)]
    [InlineData("e\u0301", 1)] // e + combining acute accent
    [InlineData("👩‍💻", 2)] // a zero-width-joiner sequence is one cluster
    [InlineData("❤️", 2)] // text heart + emoji presentation selector
    public void Width_counts_terminal_columns(string text, int expected) =>
        Assert.Equal(expected, TextWidth.Of(text));

    [Fact]
    public void Wrap_breaks_at_spaces_and_keeps_every_word()
    {
        var rows = LineWrapper.Wrap("the quick brown fox jumps over the lazy dog", 10, 10);

        Assert.All(rows, r => Assert.True(TextWidth.Of(r) <= 10, r));
        Assert.Equal(["the quick", "brown fox", "jumps over", "the lazy", "dog"], rows);
    }

    [Fact]
    public void Wrap_splits_a_word_longer_than_the_row()
    {
        var rows = LineWrapper.Wrap("abcdefghijkl", 5, 5);

        Assert.Equal(["abcde", "fghij", "kl"], rows);
    }

    [Fact]
    public void Wrap_never_splits_a_wide_character_across_rows()
    {
        var rows = LineWrapper.Wrap("日本語のテキスト", 5, 5);

        Assert.All(rows, r => Assert.True(TextWidth.Of(r) <= 5, r));
        Assert.Equal("日本語のテキスト", string.Concat(rows));
        Assert.Equal(4, rows.Count);
    }

    [Fact]
    public void Wrap_starts_a_row_at_each_line_break()
    {
        var rows = LineWrapper.Wrap("one\ntwo\r\nthree", 20, 20);

        Assert.Equal(["one", "two", "three"], rows);
    }

    [Fact]
    public void Wrap_shows_control_characters_as_spaces()
    {
        var rows = LineWrapper.Wrap("a\tb\u001b[2Jc", 20, 20);

        Assert.Single(rows);
        Assert.DoesNotContain(rows[0], c => char.IsControl(c));
    }

    [Theory]
    [InlineData("hi alice!", true)]
    [InlineData("@alice can you look", true)]
    [InlineData("ALICE?", true)]
    [InlineData("alice.", true)]
    [InlineData("malice aforethought", false)]
    [InlineData("alice_b is here", false)]
    [InlineData("alices", false)]
    [InlineData("nothing here", false)]
    public void Mentions_match_the_name_as_a_word(string text, bool expected) =>
        Assert.Equal(expected, MentionDetector.Mentions(text, "alice"));

    [Fact]
    public void Qr_code_rows_are_square_half_blocks()
    {
        var rows = QrText.Render("12345 67890 12345 67890");

        Assert.NotEmpty(rows);
        var width = rows[0].Length;
        Assert.All(rows, r => Assert.Equal(width, r.Length));
        // Two modules per row, so the code is about half as tall as it is wide.
        Assert.Equal((width + 1) / 2, rows.Count);
        Assert.All(rows, r => Assert.True(r.All(c => c is ' ' or '█' or '▀' or '▄'), r));
        Assert.Contains(rows, r => r.Contains(' ', StringComparison.Ordinal));
    }
}
