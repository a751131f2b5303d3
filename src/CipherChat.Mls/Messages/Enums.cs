namespace CipherChat.Mls.Messages;

// Registries of RFC 9420 §17. The uint16 registries are open: values not named here (GREASE,
// private use, later extensions) still decode wherever the value is only carried, not interpreted.

/// <summary>ProtocolVersion (RFC 9420 §6).</summary>
public enum ProtocolVersion : ushort
{
    Reserved = 0,
    Mls10 = 1,
}

/// <summary>CipherSuite (RFC 9420 §17.1).</summary>
public enum CipherSuite : ushort
{
    Reserved = 0,
    Mls128DhKemX25519Aes128GcmSha256Ed25519 = 0x0001,
    Mls128DhKemP256Aes128GcmSha256P256 = 0x0002,
    Mls128DhKemX25519ChaCha20Poly1305Sha256Ed25519 = 0x0003,
    Mls256DhKemX448Aes256GcmSha512Ed448 = 0x0004,
    Mls256DhKemP521Aes256GcmSha512P521 = 0x0005,
    Mls256DhKemX448ChaCha20Poly1305Sha512Ed448 = 0x0006,
    Mls256DhKemP384Aes256GcmSha384P384 = 0x0007,
}

/// <summary>WireFormat (RFC 9420 §17.2).</summary>
public enum WireFormat : ushort
{
    Reserved = 0,
    PublicMessage = 0x0001,
    PrivateMessage = 0x0002,
    Welcome = 0x0003,
    GroupInfo = 0x0004,
    KeyPackage = 0x0005,
}

/// <summary>ExtensionType (RFC 9420 §17.3).</summary>
public enum ExtensionType : ushort
{
    Reserved = 0,
    ApplicationId = 0x0001,
    RatchetTree = 0x0002,
    RequiredCapabilities = 0x0003,
    ExternalPub = 0x0004,
    ExternalSenders = 0x0005,
}

/// <summary>ProposalType (RFC 9420 §17.4).</summary>
public enum ProposalType : ushort
{
    Reserved = 0,
    Add = 0x0001,
    Update = 0x0002,
    Remove = 0x0003,
    PreSharedKey = 0x0004,
    ReInit = 0x0005,
    ExternalInit = 0x0006,
    GroupContextExtensions = 0x0007,
}

/// <summary>CredentialType (RFC 9420 §17.5).</summary>
public enum CredentialType : ushort
{
    Reserved = 0,
    Basic = 0x0001,
    X509 = 0x0002,
}

/// <summary>ContentType (RFC 9420 §6).</summary>
public enum ContentType : byte
{
    Reserved = 0,
    Application = 1,
    Proposal = 2,
    Commit = 3,
}

/// <summary>SenderType (RFC 9420 §6).</summary>
public enum SenderType : byte
{
    Reserved = 0,
    Member = 1,
    External = 2,
    NewMemberProposal = 3,
    NewMemberCommit = 4,
}

/// <summary>LeafNodeSource (RFC 9420 §7.2).</summary>
public enum LeafNodeSource : byte
{
    Reserved = 0,
    KeyPackage = 1,
    Update = 2,
    Commit = 3,
}

/// <summary>NodeType (RFC 9420 §7.8).</summary>
public enum NodeType : byte
{
    Reserved = 0,
    Leaf = 1,
    Parent = 2,
}

/// <summary>PSKType (RFC 9420 §8.4).</summary>
public enum PskType : byte
{
    Reserved = 0,
    External = 1,
    Resumption = 2,
}

/// <summary>ResumptionPSKUsage (RFC 9420 §8.4).</summary>
public enum ResumptionPskUsage : byte
{
    Reserved = 0,
    Application = 1,
    ReInit = 2,
    Branch = 3,
}

/// <summary>ProposalOrRefType (RFC 9420 §12.4).</summary>
public enum ProposalOrRefType : byte
{
    Reserved = 0,
    Proposal = 1,
    Reference = 2,
}
