namespace CipherChat.Mls.Crypto;

/// <summary>RFC 9180 §5 HPKE modes.</summary>
public enum HpkeMode : byte
{
    Base = 0x00,
    Psk = 0x01,
    Auth = 0x02,
    AuthPsk = 0x03,
}

/// <summary>RFC 9180 §7.1 KEM identifiers (only the one CipherChat implements).</summary>
public enum HpkeKemId : ushort
{
    DhkemX25519HkdfSha256 = 0x0020,
}

/// <summary>RFC 9180 §7.2 KDF identifiers (only the one CipherChat implements).</summary>
public enum HpkeKdfId : ushort
{
    HkdfSha256 = 0x0001,
}

/// <summary>RFC 9180 §7.3 AEAD identifiers.</summary>
public enum HpkeAeadId : ushort
{
    Aes128Gcm = 0x0001,
    ChaCha20Poly1305 = 0x0003,

    /// <summary>No AEAD: the context can only export secrets.</summary>
    ExportOnly = 0xFFFF,
}
