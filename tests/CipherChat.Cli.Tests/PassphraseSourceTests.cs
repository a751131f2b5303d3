using CipherChat.Client;

namespace CipherChat.Cli.Tests;

/// <summary>The passphrase comes from CIPHERCHAT_PASSPHRASE or a terminal prompt, and nothing waits on a non-terminal.</summary>
public sealed class PassphraseSourceTests
{
    private static CliEnvironment Env(string? variable, Func<string, CancellationToken, string?>? terminal) =>
        new("home-folder", TextWriter.Null, TextWriter.Null, TimeProvider.System)
        {
            Variable = name => name == "CIPHERCHAT_PASSPHRASE" ? variable : null,
            ReadSecret = terminal,
        };

    [Fact]
    public void The_variable_wins_and_nothing_is_asked()
    {
        var env = Env("from the variable", (_, _) => throw new InvalidOperationException("asked"));
        Assert.Equal("from the variable", PassphraseSource.Unlock(env, TestContext.Current.CancellationToken));
        Assert.Equal("from the variable", PassphraseSource.Choose(env, TestContext.Current.CancellationToken));
    }

    [Fact]
    public void Without_a_terminal_unlocking_says_what_to_set_and_choosing_means_none()
    {
        var env = Env(null, null);
        var error = Assert.Throws<ClientStateException>(() => PassphraseSource.Unlock(env, TestContext.Current.CancellationToken));
        Assert.Contains("CIPHERCHAT_PASSPHRASE", error.Message, StringComparison.Ordinal);
        Assert.Contains("home-folder", error.Message, StringComparison.Ordinal);
        Assert.Null(PassphraseSource.Choose(env, TestContext.Current.CancellationToken));
    }

    [Fact]
    public void At_a_terminal_the_prompt_is_used_and_a_new_passphrase_is_asked_twice()
    {
        var prompts = new List<string>();
        var answers = new Queue<string?>(["typed", "new one", "new one", "new one", "typo"]);
        var env = Env(null, (prompt, _) =>
        {
            prompts.Add(prompt);
            return answers.Dequeue();
        });

        Assert.Equal("typed", PassphraseSource.Unlock(env, TestContext.Current.CancellationToken));
        Assert.Equal("new one", PassphraseSource.Choose(env, TestContext.Current.CancellationToken));
        Assert.Throws<ClientStateException>(() => PassphraseSource.Choose(env, TestContext.Current.CancellationToken));
        Assert.Equal(5, prompts.Count);
        Assert.Contains("home-folder", prompts[0], StringComparison.Ordinal);
    }

    [Fact]
    public void An_empty_answer_at_the_terminal_is_no_passphrase()
    {
        var env = Env(null, (_, _) => string.Empty);
        Assert.Null(PassphraseSource.Choose(env, TestContext.Current.CancellationToken));
        Assert.Throws<ClientStateException>(() => PassphraseSource.Unlock(env, TestContext.Current.CancellationToken));
    }
}
