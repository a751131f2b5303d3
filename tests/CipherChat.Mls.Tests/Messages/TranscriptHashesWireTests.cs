using System.Security.Cryptography;
using CipherChat.Mls.Messages;
using CipherChat.Mls.Tests.Support;

// Not "...Tests.Messages": that would shadow CipherChat.Mls.Messages for partially qualified names in sibling test namespaces.
namespace CipherChat.Mls.Tests.MessagesTests;

/// <summary>
/// transcript-hashes.json, wire side: AuthenticatedContent round-trips, and the transcript-hash
/// inputs built from it give the vector's hashes and confirmation tag under SHA-256.
/// </summary>
public class TranscriptHashesWireTests
{
    public static TheoryData<int> Entries()
    {
        var data = new TheoryData<int>();
        for (var i = 0; i < TestVectors.LoadMls("transcript-hashes.json").GetArrayLength(); i++)
        {
            data.Add(i);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Entries))]
    public void Authenticated_content_round_trips_and_feeds_the_transcript_hashes(int index)
    {
        var entry = TestVectors.LoadMls("transcript-hashes.json")[index];
        var bytes = entry.Hex("authenticated_content");

        var content = AuthenticatedContent.FromBytes(bytes);
        Assert.Equal(bytes, content.ToBytes());
        Assert.Equal(ContentType.Commit, content.Content.ContentType);

        var confirmed = SHA256.HashData([.. entry.Hex("interim_transcript_hash_before"), .. content.ConfirmedTranscriptHashInput()]);
        Assert.Equal(entry.Hex("confirmed_transcript_hash_after"), confirmed);

        var tag = content.Auth.ConfirmationTag!.Value.ToArray();
        Assert.Equal(HMACSHA256.HashData(entry.Hex("confirmation_key"), confirmed), tag);

        var interim = SHA256.HashData([.. confirmed, .. AuthenticatedContent.InterimTranscriptHashInput(tag)]);
        Assert.Equal(entry.Hex("interim_transcript_hash_after"), interim);
    }
}
