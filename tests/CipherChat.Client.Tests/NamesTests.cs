namespace CipherChat.Client.Tests;

public sealed class NamesTests
{
    [Theory]
    [InlineData("general", "general")]
    [InlineData("#general", "general")]
    [InlineData("#Friends.2026", "friends.2026")]
    [InlineData("a", "a")]
    [InlineData("under_score-dash.dot", "under_score-dash.dot")]
    [InlineData("abcdefghijklmnopqrstuvwxyz012345", "abcdefghijklmnopqrstuvwxyz012345")]
    public void Valid_room_names_are_normalized(string input, string expected)
    {
        Assert.Equal(expected, Names.NormalizeRoom(input));
    }

    [Theory]
    [InlineData("")]
    [InlineData("#")]
    [InlineData("##general")]
    [InlineData("abcdefghijklmnopqrstuvwxyz0123456")]
    [InlineData("has space")]
    [InlineData("ümlaut")]
    [InlineData("semi;colon")]
    [InlineData("new\nline")]
    public void Invalid_room_names_are_refused(string input)
    {
        Assert.False(Names.TryNormalizeRoom(input, out _, out var error));
        Assert.False(string.IsNullOrEmpty(error));
        Assert.Throws<InvalidNameException>(() => Names.NormalizeRoom(input));
    }

    [Fact]
    public void Direct_conversation_names_are_not_available_yet()
    {
        var ex = Assert.Throws<NotYetAvailableException>(() => Names.NormalizeRoom("@bob"));
        Assert.Contains("not available yet", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void User_names_fold_case_and_refuse_the_room_prefix()
    {
        Assert.Equal("alice", Names.NormalizeUser("Alice"));
        Assert.Throws<InvalidNameException>(() => Names.NormalizeUser("#alice"));
        Assert.Throws<InvalidNameException>(() => Names.NormalizeUser(new string('a', 33)));
    }
}
