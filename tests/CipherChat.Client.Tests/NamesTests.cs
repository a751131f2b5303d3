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

    [Theory]
    [InlineData("@alice+bob", "@alice+bob")]
    [InlineData("@Bob+alice", "@alice+bob")]
    [InlineData("@carol+al", "@al+carol")]
    public void Direct_room_names_are_sorted(string input, string expected)
    {
        Assert.Equal(expected, Names.NormalizeRoom(input));
        Assert.True(Names.IsDirectRoom(expected, out var a, out var b));
        Assert.Equal(expected, Names.DirectRoom(b, a));
    }

    [Fact]
    public void A_direct_room_with_one_name_needs_the_client_to_resolve_it()
    {
        Assert.False(Names.TryNormalizeRoom("@bob", out _, out var error));
        Assert.Contains("own user name", error, StringComparison.Ordinal);
        Assert.Throws<NotYetAvailableException>(() => Names.NormalizeRoom("@bob"));
    }

    [Theory]
    [InlineData("@bob+bob")]
    [InlineData("@+bob")]
    [InlineData("@a+b+c")]
    [InlineData("@a b+c")]
    public void Malformed_direct_room_names_are_refused(string input)
    {
        Assert.False(Names.TryNormalizeRoom(input, out _, out var error));
        Assert.False(string.IsNullOrEmpty(error));
        Assert.Throws<InvalidNameException>(() => Names.NormalizeRoom(input));
        Assert.False(Names.IsDirectRoom(input, out _, out _));
    }

    [Fact]
    public void User_names_fold_case_and_refuse_the_room_prefix()
    {
        Assert.Equal("alice", Names.NormalizeUser("Alice"));
        Assert.Throws<InvalidNameException>(() => Names.NormalizeUser("#alice"));
        Assert.Throws<InvalidNameException>(() => Names.NormalizeUser(new string('a', 33)));
    }
}
