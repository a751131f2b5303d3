namespace CipherChat.Protocol.Tests;

public class NameRulesTests
{
    [Theory]
    [InlineData("alice", "alice")]
    [InlineData("Alice", "alice")]
    [InlineData("a.b_c-9", "a.b_c-9")]
    [InlineData("x", "x")]
    [InlineData("abcdefghijklmnopqrstuvwxyz012345", "abcdefghijklmnopqrstuvwxyz012345")]
    public void Valid_usernames_normalize_to_lower_case(string input, string expected)
    {
        Assert.True(NameRules.TryNormalizeUsername(input, out var name));
        Assert.Equal(expected, name);
    }

    [Theory]
    [InlineData("")]
    [InlineData("abcdefghijklmnopqrstuvwxyz0123456")]
    [InlineData("al ice")]
    [InlineData("#alice")]
    [InlineData("élan")]
    [InlineData("a/b")]
    [InlineData("\u212A")] // Kelvin sign: case folding is ASCII only
    [InlineData(null)]
    public void Invalid_usernames_are_rejected(string? input)
    {
        Assert.False(NameRules.TryNormalizeUsername(input, out _));
    }

    [Theory]
    [InlineData("#Friends", "friends")]
    [InlineData("friends", "friends")]
    [InlineData("#a", "a")]
    public void Room_names_drop_one_leading_hash(string input, string expected)
    {
        Assert.True(NameRules.TryNormalizeRoomName(input, out var name));
        Assert.Equal(expected, name);
    }

    [Theory]
    [InlineData("#")]
    [InlineData("##friends")]
    [InlineData("fr#iends")]
    [InlineData("")]
    public void Invalid_room_names_are_rejected(string input)
    {
        Assert.False(NameRules.TryNormalizeRoomName(input, out _));
    }
}
