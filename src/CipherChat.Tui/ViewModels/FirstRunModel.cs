using CipherChat.Client;
using CipherChat.Client.Net;
using CipherChat.Tui.Backend;

namespace CipherChat.Tui.ViewModels;

public enum FirstRunStep
{
    /// <summary>The user types the server and a user name.</summary>
    Entering,

    /// <summary>The server's identity is shown for the user to accept.</summary>
    Confirming,

    /// <summary>Registered: the chat can start.</summary>
    Done,
}

/// <summary>
/// The first-run form: check the server and user name, fetch the server's certificate fingerprint,
/// let the user compare and accept it, then register.
/// </summary>
public sealed class FirstRunModel(IRegistrar registrar)
{
    private ServerAddress? _server;
    private bool _tls;
    private string? _user;
    private string? _invite;

    public FirstRunStep Step { get; private set; } = FirstRunStep.Entering;

    /// <summary>What the form says now: guidance, the fingerprint to compare, or the last error.</summary>
    public string Message { get; private set; } =
        "Register this device with a CipherChat server. Ask the person who runs it for its address; the user name is yours to choose (a-z 0-9 . _ -).";

    public bool IsError { get; private set; }

    /// <summary>The server identity waiting for acceptance.</summary>
    public string? Identity { get; private set; }

    /// <summary>Checks the fields and fetches the server's identity. Returns false (with <see cref="Message"/> set) on a problem.</summary>
    public async Task<bool> ConnectAsync(string serverText, string userText, bool tls, string? inviteCode, CancellationToken cancellationToken)
    {
        if (!ServerAddress.TryParse(serverText?.Trim(), out var server))
        {
            return Fail("The server must be HOST or HOST:PORT, for example chat.example.org or 192.168.1.20:12345.");
        }

        if (!Names.TryNormalizeUser(userText?.Trim(), out var user, out var error))
        {
            return Fail($"That user name will not do: {error}.");
        }

        try
        {
            Identity = await registrar.FetchIdentityAsync(server, tls, cancellationToken).ConfigureAwait(false);
        }
        catch (ChatClientException ex)
        {
            return Fail(ex.Message);
        }

        _server = server;
        _tls = tls;
        _user = user;
        _invite = string.IsNullOrWhiteSpace(inviteCode) ? null : inviteCode.Trim();
        Step = FirstRunStep.Confirming;
        IsError = false;
        Message = Identity == ServerPins.Plaintext
            ? $"{server} is used without TLS: anyone on the network path can see who talks when (not what: messages stay end-to-end encrypted). Use it only on a network you trust. Register as {user}?"
            : $"The server's certificate fingerprint (SHA-256) is\n{Identity}\nCompare it with the one the server printed when it started. Register as {user} if they match.";
        return true;
    }

    /// <summary>Registers after the user accepted the identity.</summary>
    public async Task<bool> AcceptAsync(CancellationToken cancellationToken)
    {
        if (Step != FirstRunStep.Confirming || _server is null || _user is null)
        {
            return Fail("Connect to a server first.");
        }

        try
        {
            await registrar.RegisterAsync(_server, _tls, _user, _invite, cancellationToken).ConfigureAwait(false);
        }
        catch (ChatClientException ex)
        {
            Step = FirstRunStep.Entering;
            registrar.Forget(_server);
            return Fail(ex.Message);
        }

        Step = FirstRunStep.Done;
        IsError = false;
        Message = $"Registered as {_user} on {_server}.";
        return true;
    }

    /// <summary>The user refused the identity: forget it and go back to the fields.</summary>
    public void Reject()
    {
        if (Step == FirstRunStep.Confirming && _server is not null)
        {
            registrar.Forget(_server);
        }

        Step = FirstRunStep.Entering;
        Identity = null;
        IsError = true;
        Message = "Not registered: the fingerprint was not accepted. Check the server's address with its operator.";
    }

    private bool Fail(string message)
    {
        Message = message;
        IsError = true;
        return false;
    }
}
