using System.Text;

namespace CipherChat.Cli;

/// <summary>Reads a line from the terminal without showing what is typed.</summary>
internal static class TerminalSecret
{
    private const int MaxLength = 1024;

    /// <summary>
    /// Writes <paramref name="prompt"/> to standard error and reads keys until Enter. Backspace works;
    /// Ctrl-C or Escape cancels (an <see cref="OperationCanceledException"/>, which exits with 130).
    /// </summary>
    public static string? Read(string prompt, CancellationToken cancellationToken)
    {
        Console.Error.Write(prompt);
        Console.Error.Flush();
        var typed = new StringBuilder();
        var treatControlC = Console.TreatControlCAsInput;
        Console.TreatControlCAsInput = true;
        try
        {
            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var key = Console.ReadKey(intercept: true);
                if (key.Key == ConsoleKey.Enter)
                {
                    return typed.ToString();
                }

                if (key.Key == ConsoleKey.Escape || (key.Key == ConsoleKey.C && key.Modifiers.HasFlag(ConsoleModifiers.Control)))
                {
                    throw new OperationCanceledException("passphrase entry cancelled");
                }

                if (key.Key == ConsoleKey.Backspace)
                {
                    if (typed.Length > 0)
                    {
                        typed.Length--;
                    }
                }
                else if (!char.IsControl(key.KeyChar) && typed.Length < MaxLength)
                {
                    typed.Append(key.KeyChar);
                }
            }
        }
        finally
        {
            Console.TreatControlCAsInput = treatControlC;
            Console.Error.WriteLine();
            typed.Clear();
        }
    }
}
