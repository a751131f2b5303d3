using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using CipherChat.Protocol.V1;
using Google.Protobuf;

namespace CipherChat.Protocol.Tests;

public class FrameCodecTests
{
    private static Frame SampleSend(ulong requestId, int payloadBytes) => new()
    {
        RequestId = requestId,
        Send = new Send
        {
            Room = "friends",
            ClientMessageId = ByteString.CopyFrom(new byte[16]),
            Payload = ByteString.CopyFrom(Enumerable.Range(0, payloadBytes).Select(i => (byte)i).ToArray()),
        },
    };

    private static byte[] Concat(params byte[][] parts) => parts.SelectMany(p => p).ToArray();

    /// <summary>Builds a sequence whose segments break at the given offsets.</summary>
    private static ReadOnlySequence<byte> Split(byte[] data, params int[] cuts)
    {
        var bounds = cuts.Where(c => c > 0 && c < data.Length).Distinct().Order().Append(data.Length).ToArray();
        Segment? first = null;
        Segment? last = null;
        var start = 0;
        foreach (var end in bounds)
        {
            var memory = data.AsMemory(start, end - start);
            if (first is null)
            {
                first = last = new Segment(memory, 0);
            }
            else
            {
                last = last!.Append(memory);
            }

            start = end;
        }

        return first is null ? ReadOnlySequence<byte>.Empty : new ReadOnlySequence<byte>(first, 0, last!, last!.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }

    [Fact]
    public void Encode_then_scan_and_decode_round_trips()
    {
        var frame = SampleSend(7, 100);
        var bytes = FrameCodec.Encode(frame);

        Assert.Equal(FrameCodec.EncodedLength(frame), bytes.Length);
        Assert.Equal((uint)(bytes.Length - 4), BinaryPrimitives.ReadUInt32BigEndian(bytes));
        var buffer = new ReadOnlySequence<byte>(bytes);
        Assert.True(FrameCodec.TryReadFrame(ref buffer, out var body));
        Assert.True(buffer.IsEmpty);
        Assert.Equal(frame, FrameCodec.Decode(body));
    }

    [Fact]
    public void Write_to_a_buffer_writer_matches_Encode()
    {
        var frame = SampleSend(3, 10);
        var writer = new ArrayBufferWriter<byte>();
        FrameCodec.Write(writer, frame);
        Assert.Equal(FrameCodec.Encode(frame), writer.WrittenSpan.ToArray());
    }

    [Fact]
    public void Two_frames_split_at_every_offset_pair_decode_the_same()
    {
        var first = SampleSend(1, 5);
        var second = new Frame { RequestId = 2, Ping = new Ping() };
        var data = Concat(FrameCodec.Encode(first), FrameCodec.Encode(second));

        for (var a = 0; a <= data.Length; a++)
        {
            for (var b = a; b <= data.Length; b++)
            {
                var buffer = Split(data, a, b);
                Assert.True(FrameCodec.TryReadFrame(ref buffer, out var body1));
                Assert.Equal(first, FrameCodec.Decode(body1));
                Assert.True(FrameCodec.TryReadFrame(ref buffer, out var body2));
                Assert.Equal(second, FrameCodec.Decode(body2));
                Assert.True(buffer.IsEmpty);
                Assert.False(FrameCodec.TryReadFrame(ref buffer, out _));
            }
        }
    }

    [Fact]
    public void Every_prefix_of_a_frame_asks_for_more_and_leaves_the_buffer_alone()
    {
        var data = FrameCodec.Encode(SampleSend(9, 40));
        for (var length = 0; length < data.Length; length++)
        {
            for (var cut = 0; cut <= length; cut++)
            {
                var buffer = Split(data[..length], cut);
                var before = buffer;
                Assert.False(FrameCodec.TryReadFrame(ref buffer, out _));
                Assert.Equal(before.Length, buffer.Length);
                Assert.Equal(before.Start, buffer.Start);
            }
        }
    }

    [Fact]
    public void Incremental_arrival_byte_by_byte_yields_each_frame_once()
    {
        var frames = Enumerable.Range(1, 4).Select(i => SampleSend((ulong)i, i * 3)).ToArray();
        var data = Concat(frames.Select(f => FrameCodec.Encode(f)).ToArray());
        var pending = new List<byte>();
        var decoded = new List<Frame>();
        foreach (var b in data)
        {
            pending.Add(b);
            var buffer = new ReadOnlySequence<byte>(pending.ToArray());
            while (FrameCodec.TryReadFrame(ref buffer, out var body))
            {
                decoded.Add(FrameCodec.Decode(body));
            }

            pending = buffer.ToArray().ToList();
        }

        Assert.Equal(frames, decoded);
        Assert.Empty(pending);
    }

    [Fact]
    public void Oversized_length_is_rejected_from_the_prefix_alone()
    {
        // Only the 4-byte prefix is present: the limit is enforced before any body is buffered.
        var prefix = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(prefix, 1025);
        var ex = Assert.Throws<ProtocolException>(() =>
        {
            var buffer = new ReadOnlySequence<byte>(prefix);
            FrameCodec.TryReadFrame(ref buffer, 1024, out _);
        });
        Assert.Equal(ErrorCode.FrameTooLarge, ex.Code);
        Assert.True(ex.IsFatal);
    }

    [Fact]
    public void Length_at_the_limit_is_accepted()
    {
        var frame = SampleSend(1, 200);
        var bytes = FrameCodec.Encode(frame);
        var buffer = new ReadOnlySequence<byte>(bytes);
        Assert.True(FrameCodec.TryReadFrame(ref buffer, bytes.Length - 4, out _));
    }

    [Fact]
    public void Maximum_uint32_length_is_too_large_not_an_overflow()
    {
        var buffer = new ReadOnlySequence<byte>(new byte[] { 0xFF, 0xFF, 0xFF, 0xFF, 0 });
        var ex = Assert.Throws<ProtocolException>(() => FrameCodec.TryReadFrame(ref buffer, ProtocolLimits.MaxMaxFrameBytes, out _));
        Assert.Equal(ErrorCode.FrameTooLarge, ex.Code);
    }

    [Fact]
    public void Writer_refuses_a_frame_over_the_limit()
    {
        var ex = Assert.Throws<ProtocolException>(() => FrameCodec.Encode(SampleSend(5, 2000), 1000));
        Assert.Equal(ErrorCode.FrameTooLarge, ex.Code);
        Assert.Equal(5UL, ex.RequestId);
    }

    [Fact]
    public void Empty_body_is_an_unknown_message()
    {
        var ex = Assert.Throws<ProtocolException>(() => FrameCodec.Decode(ReadOnlySpan<byte>.Empty));
        Assert.Equal(ErrorCode.UnknownMessage, ex.Code);
        Assert.False(ex.IsFatal);
    }

    [Fact]
    public void Unknown_oneof_case_is_an_unknown_message_with_the_request_id()
    {
        // request_id = 42, then field 99 (not defined in version 1) as a length-delimited value.
        var body = BuildUnknownField(42, UnassignedFieldNumber);
        var ex = Assert.Throws<ProtocolException>(() => FrameCodec.Decode(body));
        Assert.Equal(ErrorCode.UnknownMessage, ex.Code);
        Assert.Equal(42UL, ex.RequestId);
    }

    // A Frame field number far above the ones the protocol assigns, so that it stays unknown as the protocol grows.
    private const int UnassignedFieldNumber = 1999;

    private static byte[] BuildUnknownField(ulong requestId, int fieldNumber)
    {
        using var stream = new MemoryStream();
        var output = new CodedOutputStream(stream);
        output.WriteTag(1, WireFormat.WireType.Varint);
        output.WriteUInt64(requestId);
        output.WriteTag(fieldNumber, WireFormat.WireType.LengthDelimited);
        output.WriteBytes(ByteString.CopyFromUtf8("future"));
        output.Flush();
        return stream.ToArray();
    }

    public static TheoryData<byte[]> GarbageBodies => new()
    {
        new byte[] { 0xFF },                                   // truncated varint tag
        new byte[] { 0x08, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01 }, // 11-byte varint
        new byte[] { 0x52, 0x05, 0x01 },                       // hello (10) claims 5 bytes, has 1
        new byte[] { 0x00 },                                   // field number 0
        new byte[] { 0x0F },                                   // wire type 7 does not exist
        new byte[] { 0x52, 0x03, 0x12, 0x02, 0xC3, 0x28 },     // hello.client_name with invalid UTF-8
        new byte[] { 0x53 },                                   // start-group without an end
    };

    [Theory]
    [MemberData(nameof(GarbageBodies))]
    public void Garbage_protobuf_is_a_malformed_frame(byte[] body)
    {
        var ex = Assert.Throws<ProtocolException>(() => FrameCodec.Decode(body));
        Assert.Equal(ErrorCode.MalformedFrame, ex.Code);
        Assert.True(ex.IsFatal);
    }

    [Fact]
    public void Random_bytes_never_throw_anything_but_ProtocolException()
    {
        var random = new Random(1234);
        for (var i = 0; i < 5000; i++)
        {
            var data = new byte[random.Next(0, 64)];
            random.NextBytes(data);
            var buffer = new ReadOnlySequence<byte>(data);
            try
            {
                while (FrameCodec.TryReadFrame(ref buffer, 4096, out var body))
                {
                    FrameCodec.Decode(body);
                }
            }
            catch (ProtocolException)
            {
                // Expected for most inputs; anything else fails the test.
            }
        }
    }

    [Fact]
    public async Task FramePipe_reads_frames_and_reports_clean_end()
    {
        var pipe = new Pipe();
        await FramePipe.WriteFrameAsync(pipe.Writer, SampleSend(1, 3), cancellationToken: TestContext.Current.CancellationToken);
        await FramePipe.WriteFrameAsync(pipe.Writer, new Frame { RequestId = 2, Ping = new Ping() }, cancellationToken: TestContext.Current.CancellationToken);
        await pipe.Writer.CompleteAsync();

        var first = await FramePipe.ReadFrameAsync(pipe.Reader, 1024, TestContext.Current.CancellationToken);
        var second = await FramePipe.ReadFrameAsync(pipe.Reader, 1024, TestContext.Current.CancellationToken);
        var end = await FramePipe.ReadFrameAsync(pipe.Reader, 1024, TestContext.Current.CancellationToken);

        Assert.Equal(Frame.BodyOneofCase.Send, first!.BodyCase);
        Assert.Equal(Frame.BodyOneofCase.Ping, second!.BodyCase);
        Assert.Null(end);
    }

    [Fact]
    public async Task FramePipe_reports_a_truncated_frame()
    {
        var pipe = new Pipe();
        var bytes = FrameCodec.Encode(SampleSend(1, 30));
        await pipe.Writer.WriteAsync(bytes.AsMemory(0, bytes.Length - 1), TestContext.Current.CancellationToken);
        await pipe.Writer.CompleteAsync();

        var ex = await Assert.ThrowsAsync<ProtocolException>(async () => await FramePipe.ReadFrameAsync(pipe.Reader, 1024, TestContext.Current.CancellationToken));
        Assert.Equal(ErrorCode.MalformedFrame, ex.Code);
    }

    [Fact]
    public async Task FramePipe_skips_an_unknown_message_and_reads_the_next()
    {
        var pipe = new Pipe();
        var unknown = BuildUnknownField(5, UnassignedFieldNumber);
        var prefix = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(prefix, (uint)unknown.Length);
        await pipe.Writer.WriteAsync(Concat(prefix, unknown, FrameCodec.Encode(new Frame { RequestId = 6, Ping = new Ping() })), TestContext.Current.CancellationToken);
        await pipe.Writer.CompleteAsync();

        var ex = await Assert.ThrowsAsync<ProtocolException>(async () => await FramePipe.ReadFrameAsync(pipe.Reader, 1024, TestContext.Current.CancellationToken));
        Assert.Equal(ErrorCode.UnknownMessage, ex.Code);
        var next = await FramePipe.ReadFrameAsync(pipe.Reader, 1024, TestContext.Current.CancellationToken);
        Assert.Equal(6UL, next!.RequestId);
    }
}
