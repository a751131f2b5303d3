using System.Collections.Concurrent;
using CipherChat.Client.Identity;
using CipherChat.Client.Mls;
using CipherChat.Client.Net;
using CipherChat.Client.Storage;
using CipherChat.Protocol.V1;

namespace CipherChat.Client;

/// <summary>
/// A user's identity as this device sees it: the key fingerprint, the safety number of this user and them (the same
/// on both sides), whether their key changed since it was pinned, and what the QR code of the safety number carries.
/// </summary>
public sealed record WhoisResult(
    string User,
    string Fingerprint,
    string SafetyNumber,
    bool KeyChanged,
    string? PreviousFingerprint,
    string QrText,
    DateTimeOffset FirstSeen);

// Secrets (passphrase, device key, MLS state), peers' pinned keys and the warnings gathered for the user.
public sealed partial class ChatClient
{
    private readonly Func<string?> _passphraseProvider;
    private readonly Lock _secretsGate = new();
    private readonly ConcurrentQueue<string> _warnings = new();
    private readonly HashSet<string> _warned = new(StringComparer.Ordinal);
    private readonly HashSet<string> _commitRequests = new(StringComparer.Ordinal);
    private bool _passphraseAsked;
    private PassphraseKey? _passphrase;
    private StoredDeviceKey? _deviceKey;
    private MlsStateStore? _mlsState;
    private PeerKeyStore? _peers;
    private MlsMember? _member;

    /// <summary>Argon2id cost for a passphrase given to this client; the default when null.</summary>
    public Argon2idSettings? PassphraseCost { get; set; }

    /// <summary>Whether the stored secret keys are encrypted with a passphrase.</summary>
    public bool SecretsProtected => Store.GetDeviceKey() is { Protection: not "none" };

    /// <summary>Loud one-line warnings gathered by the operations since the last call (changed peer keys, unreadable messages, removal from a room...).</summary>
    public IReadOnlyList<string> TakeWarnings()
    {
        var list = new List<string>();
        lock (_warned)
        {
            while (_warnings.TryDequeue(out var warning))
            {
                list.Add(warning);
            }

            _warned.Clear();
        }

        return list;
    }

    /// <summary>
    /// Looks <paramref name="user"/> up in the server's directory and pins their key on first use; returns the key's
    /// fingerprint and the safety number to compare with them in person or by a call.
    /// </summary>
    public async Task<WhoisResult> WhoisAsync(string user, CancellationToken cancellationToken = default)
    {
        var target = Names.NormalizeUser(user);
        var connection = await ConnectAsync(cancellationToken).ConfigureAwait(false);
        var key = await LookupKeyAsync(connection, target, cancellationToken).ConfigureAwait(false);
        var me = Account.Username;
        var ownKey = UnlockedDeviceKey().PublicKey;
        var digits = SafetyNumber.Compute(me, ownKey, target, key);
        var now = _time.GetUtcNow();
        bool changed;
        string? previous = null;
        var firstSeen = now;
        if (target == me)
        {
            changed = !key.AsSpan().SequenceEqual(ownKey);
            previous = changed ? SafetyNumber.Fingerprint(ownKey) : null;
        }
        else
        {
            var pinned = Peers.Get(target);
            changed = pinned?.ChangedTo is not null;
            if (pinned is not null)
            {
                firstSeen = pinned.FirstSeen;
                previous = changed ? SafetyNumber.Fingerprint(pinned.PublicKey) : null;
            }
        }

        return new WhoisResult(target, SafetyNumber.Fingerprint(key), SafetyNumber.Format(digits), changed, previous, SafetyNumberQr.Payload(digits), firstSeen);
    }

    /// <summary>
    /// Pins <paramref name="user"/>'s changed key after the two of you compared the new safety number; the warning
    /// about them stops. <paramref name="fingerprint"/> is the new key's fingerprint as <see cref="WhoisAsync"/> showed
    /// it (spaces and case do not matter): the key is accepted only if it is still the one the server presents now,
    /// so a key swapped again between the comparison and this call is not accepted by mistake.
    /// </summary>
    public async Task<WhoisResult> AcceptPeerKeyAsync(string user, string fingerprint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(fingerprint);
        var target = Names.NormalizeUser(user);
        if (target == Account.Username)
        {
            throw new ChatClientException("your own key is not pinned: there is nothing to accept");
        }

        var connection = await ConnectAsync(cancellationToken).ConfigureAwait(false);
        var key = await LookupKeyAsync(connection, target, cancellationToken).ConfigureAwait(false);
        var presented = SafetyNumber.Fingerprint(key);
        if (!string.Equals(CompactFingerprint(presented), CompactFingerprint(fingerprint), StringComparison.Ordinal))
        {
            throw new ChatClientException(
                $"'{target}' now presents the key {presented}, not the one you gave: run 'cipherchat whois {target}', compare the safety number again, then accept the fingerprint it shows");
        }

        if (Peers.Get(target)?.ChangedTo is null)
        {
            throw new ChatClientException($"the key of '{target}' has not changed since it was pinned: there is nothing to accept");
        }

        if (!Peers.Accept(target, key, _time.GetUtcNow()))
        {
            throw new ChatClientException($"the key of '{target}' changed again while accepting: run 'cipherchat whois {target}' and compare once more");
        }

        ForgetWarningsAbout(target);
        return await WhoisAsync(target, cancellationToken).ConfigureAwait(false);
    }

    private static string CompactFingerprint(string text) =>
        string.Concat(text.Where(c => !char.IsWhiteSpace(c))).ToUpperInvariant();

    // The warnings queued about a user whose new key was just accepted are no longer true.
    private void ForgetWarningsAbout(string user)
    {
        var marker = $"'{user}'";
        lock (_warned)
        {
            var keep = new List<string>();
            while (_warnings.TryDequeue(out var warning))
            {
                if (!warning.Contains("HAS CHANGED", StringComparison.Ordinal) || !warning.Contains(marker, StringComparison.Ordinal))
                {
                    keep.Add(warning);
                }
            }

            foreach (var warning in keep)
            {
                _warnings.Enqueue(warning);
            }

            _warned.RemoveWhere(w => !keep.Contains(w));
        }
    }

    // LookupUser, then the pin: a changed key keeps the old pin and adds a warning.
    private async Task<byte[]> LookupKeyAsync(ServerConnection connection, string user, CancellationToken cancellationToken)
    {
        Frame reply;
        try
        {
            reply = await connection.RequestAsync(new Frame { LookupUser = new LookupUser { User = user } }, cancellationToken).ConfigureAwait(false);
        }
        catch (ServerErrorException ex) when (ex.Code == ErrorCode.UnknownUser)
        {
            throw new ChatClientException($"there is no user '{user}' on this server", ex);
        }

        if (reply.BodyCase != Frame.BodyOneofCase.LookupUserOk || reply.LookupUserOk.Ed25519PublicKey.Length != SafetyNumber.Ed25519KeyLength)
        {
            throw new ConnectionFailedException($"the server answered the lookup of '{user}' with a malformed key");
        }

        var key = reply.LookupUserOk.Ed25519PublicKey.ToByteArray();
        if (user != Account.Username && Peers.Check(user, key, _time.GetUtcNow()).Warning is { } warning)
        {
            Warn(warning);
        }

        return key;
    }

    // Every member's signature key is compared with (or becomes) the pin for their name.
    private void PinMembers(MlsRoomCipher cipher)
    {
        var me = Account.Username;
        var now = _time.GetUtcNow();
        foreach (var member in cipher.Members)
        {
            if (member.Username == me || member.SignatureKey.Length != SafetyNumber.Ed25519KeyLength || !Names.TryNormalizeUser(member.Username, out _, out _))
            {
                continue;
            }

            if (Peers.Check(member.Username, member.SignatureKey, now).Warning is { } warning)
            {
                Warn(warning);
            }
        }
    }

    private void Warn(string warning)
    {
        lock (_warned)
        {
            if (_warned.Add(warning))
            {
                _warnings.Enqueue(warning);
            }
        }
    }

    // ---- secrets ----

    private PassphraseKey? Passphrase()
    {
        lock (_secretsGate)
        {
            if (!_passphraseAsked)
            {
                _passphraseAsked = true;
                var text = _passphraseProvider();
                if (!string.IsNullOrEmpty(text))
                {
                    _passphrase = PassphraseKey.Create(text, PassphraseCost);
                }
            }

            return _passphrase;
        }
    }

    /// <summary>
    /// The device key, unlocked with the passphrase when it is protected (a wrong one is a clear error). A key stored
    /// in the clear is encrypted at rest as soon as a passphrase is given.
    /// </summary>
    private StoredDeviceKey UnlockedDeviceKey()
    {
        var passphrase = Passphrase();
        lock (_secretsGate)
        {
            if (_deviceKey is not null)
            {
                return _deviceKey;
            }

            var stored = Store.GetDeviceKey() ?? throw new ClientStateException("the device key is missing from the client state: register again with a new CIPHERCHAT_HOME");
            var unlocked = DeviceKeyProtection.Unlock(stored, passphrase);
            if (stored.Protection == "none" && passphrase is not null)
            {
                Store.ProtectDeviceKey(DeviceKeyProtection.Lock(stored, passphrase));
            }

            _deviceKey = unlocked;
            return unlocked;
        }
    }

    /// <summary>The MLS groups, KeyPackages and held messages of this device; secrets encrypted when a passphrase is given.</summary>
    internal MlsStateStore MlsState
    {
        get
        {
            // The passphrase is checked against the device key before it encrypts anything new.
            _ = UnlockedDeviceKey();
            var passphrase = Passphrase();
            lock (_secretsGate)
            {
                return _mlsState ??= MlsStateStore.Open(HomeDirectory, passphrase);
            }
        }
    }

    /// <summary>Peers' pinned device keys.</summary>
    public PeerKeyStore Peers
    {
        get
        {
            lock (_secretsGate)
            {
                return _peers ??= PeerKeyStore.Open(HomeDirectory);
            }
        }
    }

    private MlsMember Member
    {
        get
        {
            var key = UnlockedDeviceKey();
            var username = Account.Username;
            lock (_secretsGate)
            {
                return _member ??= MlsMember.FromDeviceKey(username, key);
            }
        }
    }

    private string HomeDirectory => Path.GetDirectoryName(Path.GetFullPath(Store.FilePath))!;

    private void DisposeSecrets()
    {
        lock (_secretsGate)
        {
            _member?.Dispose();
            _mlsState?.Dispose();
            _peers?.Dispose();
            _passphrase?.Dispose();
            if (_deviceKey is not null)
            {
                System.Security.Cryptography.CryptographicOperations.ZeroMemory(_deviceKey.PrivateKey);
            }

            (_member, _mlsState, _peers, _passphrase, _deviceKey) = (null, null, null, null, null);
        }
    }
}
