using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using CipherChat.Mls;
using CipherChat.Mls.Crypto;
using CipherChat.Mls.Group;
using CipherChat.Mls.Messages;
using CipherChat.MlsPeer;

// An MLS peer that speaks the command line and file formats of the ts-mls interop peer, with CipherChat's
// MLS library underneath. Every command prints one JSON line; errors print "error: ..." and exit 1.
try
{
    return Peer.Run(args);
}
catch (Exception e) when (e is PeerException or MlsException or IOException or FormatException or System.Text.Json.JsonException or UnauthorizedAccessException)
{
    Console.Error.WriteLine("error: " + e.Message);
    return 1;
}

namespace CipherChat.MlsPeer
{
    internal static class Peer
    {
        private const string Usage = """
            usage: cipherchat-mls-peer <command> [options]
              keypackage    --name NAME --state DIR [--out FILE] [--caps full|minimal|grease] [--lifetime-days N]
              create-group  --state DIR [--group-id HEX] [--name NAME]
              add           --state DIR --keypackage FILE[,FILE...] [--out-commit F] [--out-welcome F] [--out-tree F]
                            [--wire private|public] [--no-ratchet-tree-ext]
              remove        --state DIR --member NAME|LEAFINDEX [--out FILE] [--wire private|public]
              commit-update --state DIR [--out FILE] [--wire private|public]
              join          --state DIR --welcome FILE [--ratchet-tree FILE]
              send          --state DIR --text TEXT [--out FILE] [--aad-hex HEX]
              recv          --state DIR --msg FILE [--text-only]
              info          --state DIR
              export        --state DIR [--label L] [--context-hex HEX] [--length N]
              decode        --msg FILE
            """;

        public static int Run(string[] args)
        {
            if (args.Length == 0 || args[0] is "help" or "--help")
            {
                Console.WriteLine(Usage);
                return 0;
            }

            var options = ParseOptions(args);
            switch (args[0])
            {
                case "keypackage": KeyPackageCommand(options, quiet: false); break;
                case "create-group": CreateGroup(options); break;
                case "add": Add(options); break;
                case "remove": Remove(options); break;
                case "commit-update": CommitUpdate(options); break;
                case "join": Join(options); break;
                case "send": Send(options); break;
                case "recv": Receive(options); break;
                case "info": Out(new JsonObject { ["ok"] = true, ["cmd"] = "info" }, Summary(PeerState.LoadGroup(Need(options, "state"), null))); break;
                case "export": Export(options); break;
                case "decode": Decode(options); break;
                default:
                    Console.Error.WriteLine($"error: unknown command {args[0]}\n{Usage}");
                    return 2;
            }

            return 0;
        }

        private static Dictionary<string, string?> ParseOptions(string[] args)
        {
            var options = new Dictionary<string, string?>(StringComparer.Ordinal);
            for (var i = 1; i < args.Length; i++)
            {
                if (!args[i].StartsWith("--", StringComparison.Ordinal))
                {
                    throw new PeerException("unexpected argument " + args[i]);
                }

                var key = args[i][2..];
                if (i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal))
                {
                    options[key] = args[++i];
                }
                else
                {
                    options[key] = null;
                }
            }

            return options;
        }

        private static string Need(Dictionary<string, string?> options, string key) =>
            options.TryGetValue(key, out var value) && value is not null ? value : throw new PeerException($"--{key} is required");

        private static string? Opt(Dictionary<string, string?> options, string key) => options.TryGetValue(key, out var value) ? value : null;

        private static bool Flag(Dictionary<string, string?> options, string key) => options.ContainsKey(key);

        private static WireFormat Wire(Dictionary<string, string?> options) => (Opt(options, "wire") ?? "private") switch
        {
            "private" => WireFormat.PrivateMessage,
            "public" => WireFormat.PublicMessage,
            _ => throw new PeerException("--wire must be private|public"),
        };

        private static JsonObject KeyPackageCommand(Dictionary<string, string?> options, bool quiet)
        {
            var dir = Need(options, "state");
            Directory.CreateDirectory(dir);
            var identity = PeerState.LoadOrCreateIdentity(dir, Opt(options, "name"));
            var caps = PeerState.Capabilities(Opt(options, "caps") ?? "full");
            var days = double.Parse(Opt(options, "lifetime-days") ?? "30", CultureInfo.InvariantCulture);
            if (!(days >= 0))
            {
                throw new PeerException("--lifetime-days must be >= 0");
            }

            // 0 days: the widest lifetime (0 .. 2^63-1), like ts-mls's default.
            var keyOptions = new KeyPackageOptions
            {
                Capabilities = caps,
                Lifetime = TimeSpan.FromDays(days),
                FixedLifetime = days == 0 ? new Lifetime { NotBefore = 0, NotAfter = long.MaxValue } : null,
            };
            using var signer = SignatureKeyPair.FromPrivateKey(identity.SignaturePrivate);
            using var bundle = KeyPackages.Create(MlsCipherSuite.Default, Credential.Basic(Encoding.UTF8.GetBytes(identity.Name)), signer, keyOptions);
            PeerState.SaveKeyPackagePrivate(dir, bundle);
            var file = Opt(options, "out") ?? Path.Combine(dir, "keypackage.json");
            var json = PeerFiles.MessageFile(new MlsMessage(bundle.KeyPackage));
            json["keypackage_ref_hex"] = PeerFiles.Hex(bundle.Reference);
            json["identity"] = identity.Name;
            PeerFiles.WriteJson(file, json);
            var result = new JsonObject
            {
                ["ok"] = true,
                ["cmd"] = "keypackage",
                ["name"] = identity.Name,
                ["file"] = file,
                ["keypackage_ref_hex"] = PeerFiles.Hex(bundle.Reference),
                ["hex"] = json["hex"]!.GetValue<string>(),
            };
            if (!quiet)
            {
                Out(result);
            }

            return result;
        }

        private static void CreateGroup(Dictionary<string, string?> options)
        {
            var dir = Need(options, "state");
            if (!File.Exists(Path.Combine(dir, "keypackage_private.json")))
            {
                if (Opt(options, "name") is null)
                {
                    throw new PeerException("no key package in state dir; pass --name NAME or run 'keypackage' first");
                }

                KeyPackageCommand(new Dictionary<string, string?> { ["state"] = dir, ["name"] = Opt(options, "name") }, quiet: true);
            }

            if (File.Exists(Path.Combine(dir, "group.json")) && !Flag(options, "force"))
            {
                throw new PeerException("group.json already exists (use --force)");
            }

            var groupId = Opt(options, "group-id") is { } hex ? PeerFiles.FromHex(hex) : System.Security.Cryptography.RandomNumberGenerator.GetBytes(16);
            var identity = PeerState.LoadIdentity(dir);
            using var signer = SignatureKeyPair.FromPrivateKey(identity.SignaturePrivate);
            using var bundle = PeerState.LoadKeyPackagePrivate(dir);
            using var group = MlsGroup.Create(groupId, bundle, signer, null, PeerState.Options(WireFormat.PrivateMessage));
            PeerState.SaveGroup(dir, group);
            File.Delete(Path.Combine(dir, "keypackage_private.json"));
            Out(new JsonObject { ["ok"] = true, ["cmd"] = "create-group" }, Summary(group));
        }

        private static void Add(Dictionary<string, string?> options)
        {
            var dir = Need(options, "state");
            var wire = Wire(options);
            using var group = PeerState.LoadGroup(dir, wire);
            var keyPackages = Need(options, "keypackage").Split(',').Select(PeerFiles.ReadKeyPackage).ToList();
            var withTree = !Flag(options, "no-ratchet-tree-ext");
            var result = group.Commit(new CommitOptions { Add = keyPackages, RatchetTreeInWelcome = withTree, WireFormat = wire, IncludePendingProposals = false });
            group.MergePendingCommit();
            PeerState.SaveGroup(dir, group);
            var commitFile = Opt(options, "out-commit") ?? Path.Combine(dir, "commit.json");
            var welcomeFile = Opt(options, "out-welcome") ?? Path.Combine(dir, "welcome.json");
            var treeFile = Opt(options, "out-tree") ?? Path.Combine(dir, "ratchet_tree.json");
            PeerFiles.WriteJson(commitFile, PeerFiles.MessageFile(result.Commit));
            PeerFiles.WriteJson(welcomeFile, PeerFiles.MessageFile(result.Welcome!));
            PeerFiles.WriteJson(treeFile, PeerFiles.TreeFile(result.RatchetTree));
            Out(
                new JsonObject
                {
                    ["ok"] = true,
                    ["cmd"] = "add",
                    ["commit_file"] = commitFile,
                    ["commit_wireformat"] = PeerFiles.WireName(result.Commit.WireFormat),
                    ["welcome_file"] = welcomeFile,
                    ["ratchet_tree_file"] = treeFile,
                    ["ratchet_tree_in_welcome"] = withTree,
                },
                Summary(group));
        }

        private static void Remove(Dictionary<string, string?> options)
        {
            var dir = Need(options, "state");
            var wire = Wire(options);
            using var group = PeerState.LoadGroup(dir, wire);
            var who = Need(options, "member");
            var member = group.Members.FirstOrDefault(m =>
                Encoding.UTF8.GetString(m.Leaf.Credential.Identity.Span) == who || m.Index.Value.ToString(CultureInfo.InvariantCulture) == who);
            if (member.Leaf is null)
            {
                throw new PeerException("no member " + who);
            }

            var result = group.Commit(new CommitOptions { Remove = [member.Index.Value], WireFormat = wire, IncludePendingProposals = false });
            group.MergePendingCommit();
            PeerState.SaveGroup(dir, group);
            var file = Opt(options, "out") ?? Path.Combine(dir, "commit.json");
            PeerFiles.WriteJson(file, PeerFiles.MessageFile(result.Commit));
            Out(new JsonObject { ["ok"] = true, ["cmd"] = "remove", ["removed_leaf_index"] = member.Index.Value, ["commit_file"] = file }, Summary(group));
        }

        private static void CommitUpdate(Dictionary<string, string?> options)
        {
            var dir = Need(options, "state");
            var wire = Wire(options);
            using var group = PeerState.LoadGroup(dir, wire);

            // No proposals: the commit always carries a full UpdatePath.
            var result = group.Commit(new CommitOptions { WireFormat = wire, IncludePendingProposals = false, ForcePath = true });
            group.MergePendingCommit();
            PeerState.SaveGroup(dir, group);
            var file = Opt(options, "out") ?? Path.Combine(dir, "commit.json");
            PeerFiles.WriteJson(file, PeerFiles.MessageFile(result.Commit));
            Out(
                new JsonObject { ["ok"] = true, ["cmd"] = "commit-update", ["commit_file"] = file, ["commit_wireformat"] = PeerFiles.WireName(result.Commit.WireFormat) },
                Summary(group));
        }

        private static void Join(Dictionary<string, string?> options)
        {
            var dir = Need(options, "state");
            if (File.Exists(Path.Combine(dir, "group.json")) && !Flag(options, "force"))
            {
                throw new PeerException("group.json already exists (use --force)");
            }

            var identity = PeerState.LoadIdentity(dir);
            using var signer = SignatureKeyPair.FromPrivateKey(identity.SignaturePrivate);
            using var bundle = PeerState.LoadKeyPackagePrivate(dir);
            var welcome = (Welcome)PeerFiles.ReadMessage(Need(options, "welcome"), WireFormat.Welcome).Body;
            ReadOnlyMemory<byte>? tree = Opt(options, "ratchet-tree") is { } treeFile ? PeerFiles.ReadBytes(treeFile) : null;
            using var group = MlsGroup.Join(welcome, bundle, signer, tree, PeerState.Options(WireFormat.PrivateMessage));
            PeerState.SaveGroup(dir, group);
            File.Delete(Path.Combine(dir, "keypackage_private.json"));
            Out(new JsonObject { ["ok"] = true, ["cmd"] = "join" }, Summary(group));
        }

        private static void Send(Dictionary<string, string?> options)
        {
            var dir = Need(options, "state");
            using var group = PeerState.LoadGroup(dir, null);
            var aad = Opt(options, "aad-hex") is { } hex ? PeerFiles.FromHex(hex) : [];
            var message = group.EncryptApplication(Encoding.UTF8.GetBytes(Need(options, "text")), aad);
            PeerState.SaveGroup(dir, group);
            var file = Opt(options, "out") ?? Path.Combine(dir, "message.json");
            PeerFiles.WriteJson(file, PeerFiles.MessageFile(message));
            Out(new JsonObject { ["ok"] = true, ["cmd"] = "send", ["file"] = file, ["epoch"] = Epoch(group) });
        }

        private static void Receive(Dictionary<string, string?> options)
        {
            var dir = Need(options, "state");
            using var group = PeerState.LoadGroup(dir, null);
            var message = PeerFiles.ReadMessage(Need(options, "msg"));
            if (message.WireFormat is not (WireFormat.PrivateMessage or WireFormat.PublicMessage))
            {
                throw new PeerException("recv handles mls_private_message / mls_public_message, got " + PeerFiles.WireName(message.WireFormat));
            }

            var epochBefore = Epoch(group);
            var membersBefore = group.Members.ToDictionary(m => m.Index.Value, m => m.Leaf);
            var received = group.Process(message);
            PeerState.SaveGroup(dir, group);
            var textOnly = Flag(options, "text-only");
            switch (received)
            {
                case ReceivedApplicationMessage app:
                    var text = Encoding.UTF8.GetString(app.Data);
                    if (textOnly)
                    {
                        Console.WriteLine(text);
                    }
                    else
                    {
                        Out(new JsonObject
                        {
                            ["ok"] = true,
                            ["cmd"] = "recv",
                            ["kind"] = "application",
                            ["wireformat"] = PeerFiles.WireName(message.WireFormat),
                            ["text"] = text,
                            ["text_hex"] = PeerFiles.Hex(app.Data),
                            ["sender_leaf_index"] = app.Sender,
                            ["epoch"] = Epoch(group),
                        });
                    }

                    break;
                case ReceivedCommit commit when !textOnly:
                    Out(
                        new JsonObject
                        {
                            ["ok"] = true,
                            ["cmd"] = "recv",
                            ["wireformat"] = PeerFiles.WireName(message.WireFormat),
                            ["kind"] = "commit",
                            ["sender_leaf_index"] = commit.Sender,
                            ["sender"] = membersBefore.TryGetValue(commit.Sender, out var leaf) ? Encoding.UTF8.GetString(leaf.Credential.Identity.Span) : null,
                            ["proposals"] = new JsonArray([.. commit.Proposals.Select(p => (JsonNode)PeerFiles.ProposalName(p.ProposalType))]),
                            ["epoch_before"] = epochBefore,
                        },
                        Summary(group));
                    break;
                case ReceivedProposal proposal when !textOnly:
                    Out(
                        new JsonObject
                        {
                            ["ok"] = true,
                            ["cmd"] = "recv",
                            ["wireformat"] = PeerFiles.WireName(message.WireFormat),
                            ["kind"] = "proposal",
                            ["sender_leaf_index"] = proposal.Sender,
                            ["proposal"] = PeerFiles.ProposalName(proposal.Proposal.ProposalType),
                            ["epoch_before"] = epochBefore,
                        },
                        Summary(group));
                    break;
                default:
                    break;
            }
        }

        private static void Export(Dictionary<string, string?> options)
        {
            using var group = PeerState.LoadGroup(Need(options, "state"), null);
            var label = Opt(options, "label") ?? "interop";
            var context = Opt(options, "context-hex") is { } hex ? PeerFiles.FromHex(hex) : [];
            var length = int.Parse(Opt(options, "length") ?? "32", CultureInfo.InvariantCulture);
            using var secret = group.Export(label, context, length);
            Out(new JsonObject
            {
                ["ok"] = true,
                ["cmd"] = "export",
                ["epoch"] = Epoch(group),
                ["label"] = label,
                ["context_hex"] = PeerFiles.Hex(context),
                ["length"] = length,
                ["secret_hex"] = PeerFiles.Hex(secret.Span),
            });
        }

        private static void Decode(Dictionary<string, string?> options)
        {
            var message = PeerFiles.ReadMessage(Need(options, "msg"));
            var json = new JsonObject { ["ok"] = true, ["cmd"] = "decode", ["version"] = "mls10", ["wireformat"] = PeerFiles.WireName(message.WireFormat) };
            switch (message.Body)
            {
                case KeyPackage kp:
                    json["cipher_suite"] = (ushort)kp.CipherSuite;
                    json["credential"] = kp.LeafNode.Credential.CredentialType == CredentialType.Basic
                        ? Encoding.UTF8.GetString(kp.LeafNode.Credential.Identity.Span)
                        : PeerFiles.CredentialName(kp.LeafNode.Credential.CredentialType);
                    json["lifetime"] = new JsonObject
                    {
                        ["not_before"] = kp.LeafNode.Lifetime?.NotBefore.ToString(CultureInfo.InvariantCulture),
                        ["not_after"] = kp.LeafNode.Lifetime?.NotAfter.ToString(CultureInfo.InvariantCulture),
                    };
                    break;
                case PrivateMessage priv:
                    json["group_id_hex"] = PeerFiles.Hex(priv.GroupId.Span);
                    json["epoch"] = priv.Epoch.ToString(CultureInfo.InvariantCulture);
                    json["content_type"] = ContentName(priv.ContentType);
                    break;
                case PublicMessage pub:
                    json["group_id_hex"] = PeerFiles.Hex(pub.Content.GroupId.Span);
                    json["epoch"] = pub.Content.Epoch.ToString(CultureInfo.InvariantCulture);
                    json["content_type"] = ContentName(pub.Content.ContentType);
                    break;
                case Welcome welcome:
                    json["cipher_suite"] = (ushort)welcome.CipherSuite;
                    json["secrets"] = welcome.Secrets.Count;
                    break;
                default:
                    break;
            }

            Out(json);
        }

        private static string ContentName(ContentType type) => type switch
        {
            ContentType.Application => "application",
            ContentType.Proposal => "proposal",
            _ => "commit",
        };

        private static string Epoch(MlsGroup group) => group.Epoch.ToString(CultureInfo.InvariantCulture);

        private static JsonObject Summary(MlsGroup group)
        {
            var members = new JsonArray();
            foreach (var (index, leaf) in group.Members)
            {
                members.Add(new JsonObject
                {
                    ["leaf_index"] = index.Value,
                    ["identity"] = leaf.Credential.CredentialType == CredentialType.Basic ? Encoding.UTF8.GetString(leaf.Credential.Identity.Span) : null,
                    ["credential_type"] = PeerFiles.CredentialName(leaf.Credential.CredentialType),
                    ["signature_public_hex"] = PeerFiles.Hex(leaf.SignatureKey.Span),
                });
            }

            var extensions = new JsonArray();
            foreach (var extension in group.Context.Extensions)
            {
                extensions.Add(new JsonObject { ["type"] = (ushort)extension.ExtensionType, ["hex"] = PeerFiles.Hex(extension.ExtensionData.Span) });
            }

            return new JsonObject
            {
                ["group_id_hex"] = PeerFiles.Hex(group.GroupId.Span),
                ["epoch"] = Epoch(group),
                ["active_state"] = group.IsActive ? "active" : "removedFromGroup",
                ["cipher_suite"] = MlsCipherSuite.Default.Id,
                ["own_leaf_index"] = group.OwnLeafIndex.Value,
                ["tree_hash_hex"] = PeerFiles.Hex(group.Context.TreeHash.Span),
                ["confirmed_transcript_hash_hex"] = PeerFiles.Hex(group.Context.ConfirmedTranscriptHash.Span),
                ["epoch_authenticator_hex"] = PeerFiles.Hex(group.EpochAuthenticator()),
                ["group_context_extensions"] = extensions,
                ["members"] = members,
            };
        }

        private static void Out(JsonObject head, JsonObject? summary = null)
        {
            if (summary is not null)
            {
                foreach (var (key, value) in summary.ToList())
                {
                    summary.Remove(key);
                    head[key] = value;
                }
            }

            Console.WriteLine(head.ToJsonString());
        }
    }
}
