namespace CipherChat.Cli.Tests.Support;

/// <summary>A fresh folder under the system temp folder, deleted afterwards.</summary>
internal sealed class TempFolder : IDisposable
{
    public TempFolder(string label)
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"cipherchat-{label}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
