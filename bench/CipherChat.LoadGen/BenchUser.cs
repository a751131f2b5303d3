using System.Net;
using NSec.Cryptography;

namespace CipherChat.LoadGen;

/// <summary>Which server the generator talks to, and how.</summary>
public enum TargetKind
{
    CipherChat,
    Irc,
    Nats,
}

/// <summary>Where and how to connect.</summary>
public sealed record TargetOptions(
    TargetKind Kind,
    IPEndPoint Endpoint,
    bool Tls,
    string? Fingerprint,
    int SourceAddresses,
    int ReceiveBufferBytes)
{
    /// <summary>The nodes of a cluster, when there are several; <see cref="Endpoint"/> is the first.</summary>
    public IReadOnlyList<IPEndPoint> Endpoints { get; init; } = [Endpoint];

    /// <summary>Where member <paramref name="index"/> connects: the nodes in turn, so every room spans them all.</summary>
    public TargetOptions ForMember(int index) =>
        Endpoints.Count <= 1 ? this : this with { Endpoint = Endpoints[index % Endpoints.Count] };

    /// <summary>
    /// Spreads client sockets over 127.0.0.1..N so that many runs of 10k connections do not run out of
    /// ephemeral ports (each source address has its own range). Loopback only.
    /// </summary>
    public IPAddress? LocalAddressFor(int index)
    {
        if (SourceAddresses <= 1 || !IPAddress.IsLoopback(Endpoint.Address) || Endpoint.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork)
        {
            return null;
        }

        return new IPAddress(new byte[] { 127, 0, 0, (byte)(1 + (index % SourceAddresses)) });
    }
}

/// <summary>A simulated user: a name, a device key, and the one room it is a member of.</summary>
public sealed class BenchUser : IDisposable
{
    public BenchUser(int index, string name, RoomPayloads room)
    {
        Index = index;
        Name = name;
        Room = room;
    }

    public int Index { get; }

    public string Name { get; }

    public RoomPayloads Room { get; }

    /// <summary>The Ed25519 device key, made on first use (IRC and NATS users need none).</summary>
    public Key DeviceKey => _key ??= Key.Create(SignatureAlgorithm.Ed25519);

    private Key? _key;

    public void Dispose() => _key?.Dispose();
}
