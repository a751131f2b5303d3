using CipherChat.Mls.Tests.Support;

namespace CipherChat.Mls.Tests;

public class VectorsPresentTests
{
    [Theory]
    [InlineData("tree-math.json")]
    [InlineData("messages.json")]
    public void Mls_vector_files_are_reachable(string file)
    {
        var root = TestVectors.LoadMls(file);
        Assert.True(root.GetArrayLength() > 0);
    }
}
