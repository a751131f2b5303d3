using System.CommandLine;
using CipherChat.Client.Fernet;

namespace CipherChat.Cli.Commands;

/// <summary><c>cipherchat keygen</c>: prints a new Fernet key for a pre-shared-key room.</summary>
internal static class KeygenCommand
{
    public static Command Create(CliEnvironment env)
    {
        var command = new Command("keygen", "Print a new Fernet key (44 characters, url-safe base64) for a pre-shared-key room");
        command.SetAction(_ =>
        {
            using var key = FernetKey.Generate();
            env.Out.WriteLine(key.Export());
            env.Out.Flush();
            return CliErrors.Success;
        });
        return command;
    }
}
