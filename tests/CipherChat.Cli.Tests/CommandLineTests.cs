using CipherChat.Cli.Tests.Support;
using CipherChat.Client.Net;
using CipherChat.Protocol.V1;

namespace CipherChat.Cli.Tests;

/// <summary>Help, argument handling and the wording of server refusals, without a server.</summary>
public sealed class CommandLineTests
{
    [Theory]
    [InlineData(new[] { "--help" }, new[] { "room", "rooms", "dm", "send", "read", "whois", "chat", "register", "keygen", "server" })]
    [InlineData(new[] { "room", "--help" }, new[] { "create", "invite", "remove", "join", "leave" })]
    [InlineData(new[] { "room", "create", "--help" }, new[] { "NAME", "--admins-only", "admin" })]
    [InlineData(new[] { "room", "invite", "--help" }, new[] { "NAME", "USER", "logged in" })]
    [InlineData(new[] { "room", "remove", "--help" }, new[] { "NAME", "USER", "cannot read what follows" })]
    [InlineData(new[] { "dm", "--help" }, new[] { "USER", "TEXT", "@USER" })]
    [InlineData(new[] { "whois", "--help" }, new[] { "USER", "safety number", "--no-qr" })]
    [InlineData(new[] { "read", "--help" }, new[] { "--follow", "--all", "--json", "@USER" })]
    public async Task Help_describes_every_command(string[] args, string[] expected)
    {
        using var user = new CliUser("help");
        var output = await user.OkAsync(args);
        foreach (var word in expected)
        {
            Assert.Contains(word, output, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(new[] { "room", "create" }, "NAME")]
    [InlineData(new[] { "room", "invite", "team" }, "USER")]
    [InlineData(new[] { "room", "remove", "team" }, "USER")]
    [InlineData(new[] { "dm", "bob" }, "TEXT")]
    [InlineData(new[] { "whois" }, "USER")]
    [InlineData(new[] { "room", "create", "team", "--everyone" }, "--everyone")]
    public async Task Missing_or_unknown_arguments_are_usage_errors(string[] args, string mentioned)
    {
        using var user = new CliUser("usage");
        var result = await user.RunAsync(args);
        Assert.Equal(CliErrors.Usage, result.ExitCode);
        var line = Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(mentioned, line, StringComparison.Ordinal);
        Assert.Contains("--help", line, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("room|create|no spaces")]
    [InlineData("room|create|@bob")]
    [InlineData("room|join|@bob|--key|cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=")]
    [InlineData("whois|Not Valid")]
    [InlineData("dm|bad name!|hi")]
    public async Task Bad_names_are_usage_errors_before_anything_else(string args)
    {
        using var user = new CliUser("names");
        var result = await user.RunAsync(args.Split('|'));
        Assert.Equal(CliErrors.Usage, result.ExitCode);
        Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    [Theory]
    [InlineData(ErrorCode.NoKeyPackage, "invite", "team", "bob", "bob has not logged in since registering")]
    [InlineData(ErrorCode.NoKeyPackage, "dm", "@bob", "bob", "ask bob to run any cipherchat command")]
    [InlineData(ErrorCode.NotAllowed, "invite", "board", "dave", "only an admin of #board")]
    [InlineData(ErrorCode.NotAllowed, "invite", "@bob", "carol", "a direct conversation has exactly two members")]
    [InlineData(ErrorCode.RoomExists, "create", "team", null, "the room #team already exists")]
    [InlineData(ErrorCode.UnknownUser, "whois", null, "zed", "there is no user 'zed'")]
    [InlineData(ErrorCode.NotAMember, "send", "team", null, "you are not a member of #team: ask a member to invite you ('cipherchat room invite team alice')")]
    [InlineData(ErrorCode.NotAMember, "read", "@bob", null, "cipherchat dm bob TEXT")]
    [InlineData(ErrorCode.RoomKindMismatch, "join", "team", null, "#team is an MLS room")]
    [InlineData(ErrorCode.EpochConflict, "invite", "team", "bob", "try again")]
    public void Server_refusals_are_explained_in_the_commands_terms(ErrorCode code, string action, string? room, string? user, string expected)
    {
        var context = new CommandContext(action, room, user) { LoggedIn = true, Me = "alice" };
        var text = CliErrors.Explain(new ServerErrorException(code, "refused"), context);
        Assert.NotNull(text);
        Assert.Contains(expected, text, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', text);
    }

    [Fact]
    public void Unknown_user_before_login_is_about_this_account()
    {
        var context = new CommandContext("whois", user: "bob") { LoggedIn = false };
        var error = new ServerErrorException(ErrorCode.UnknownUser, "no such user");
        Assert.Null(CliErrors.Explain(error, context));

        using var errors = new StringWriter();
        var env = new CliEnvironment("home", TextWriter.Null, errors, TimeProvider.System);
        Assert.Equal(CliErrors.Failure, CliErrors.Report(env, error, context));
        Assert.Contains("run 'cipherchat register' first", errors.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_broken_connection_is_one_line_that_says_so()
    {
        using var errors = new StringWriter();
        var env = new CliEnvironment("home", TextWriter.Null, errors, TimeProvider.System);
        var broken = new IOException("Unable to write data to the transport connection: Broken pipe.", new System.Net.Sockets.SocketException(32));
        Assert.Equal(CliErrors.Failure, CliErrors.Report(env, broken));
        var line = Assert.Single(errors.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("cipherchat: the connection to the server broke (", line, StringComparison.Ordinal);
        Assert.Contains("try again", line, StringComparison.Ordinal);
    }
}
