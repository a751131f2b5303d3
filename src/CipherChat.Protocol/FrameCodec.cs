using System.Buffers;
using System.Buffers.Binary;
using CipherChat.Protocol.V1;
using Google.Protobuf;

namespace CipherChat.Protocol;

/// <summary>
/// Frames on the wire: a 4-byte big-endian body length, then the body, one protobuf <see cref="Frame"/>
/// (docs/PROTOCOL.md, "Framing"). Scanning (is a whole frame there?) is separate from decoding.
/// </summary>
public static class FrameCodec
{
    /// <summary>
    /// Takes one frame body off the front of <paramref name="buffer"/> when a whole frame is there.
    /// Returns false when more bytes are needed (the buffer is left untouched). The length is checked
    /// against <paramref name="maxFrameBytes"/> before anything is buffered.
    /// </summary>
    /// <exception cref="ProtocolException">The length prefix exceeds the limit (FRAME_TOO_LARGE).</exception>
    public static bool TryReadFrame(ref ReadOnlySequence<byte> buffer, int maxFrameBytes, out ReadOnlySequence<byte> body)
    {
        body = default;
        if (buffer.Length < ProtocolLimits.LengthPrefixBytes)
        {
            return false;
        }

        Span<byte> prefix = stackalloc byte[ProtocolLimits.LengthPrefixBytes];
        buffer.Slice(0, ProtocolLimits.LengthPrefixBytes).CopyTo(prefix);
        var length = BinaryPrimitives.ReadUInt32BigEndian(prefix);
        if (length > (uint)maxFrameBytes)
        {
            throw new ProtocolException(ErrorCode.FrameTooLarge, "frame too large");
        }

        var total = ProtocolLimits.LengthPrefixBytes + (long)length;
        if (buffer.Length < total)
        {
            return false;
        }

        body = buffer.Slice(ProtocolLimits.LengthPrefixBytes, length);
        buffer = buffer.Slice(total);
        return true;
    }

    /// <inheritdoc cref="TryReadFrame(ref ReadOnlySequence{byte}, int, out ReadOnlySequence{byte})"/>
    public static bool TryReadFrame(ref ReadOnlySequence<byte> buffer, out ReadOnlySequence<byte> body) =>
        TryReadFrame(ref buffer, ProtocolLimits.DefaultMaxFrameBytes, out body);

    /// <summary>Decodes a frame body. A frame without a known body is reported as UNKNOWN_MESSAGE.</summary>
    /// <exception cref="ProtocolException">The only exception this method throws.</exception>
    public static Frame Decode(in ReadOnlySequence<byte> body)
    {
        Frame frame;
        try
        {
            frame = Frame.Parser.ParseFrom(body);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Whatever the parser trips over (bad varint, bad UTF-8, nesting), the peer sent a bad frame.
            throw new ProtocolException(ErrorCode.MalformedFrame, "malformed frame", 0, ex);
        }

        if (frame.BodyCase == Frame.BodyOneofCase.None)
        {
            throw new ProtocolException(ErrorCode.UnknownMessage, "unknown message type", frame.RequestId);
        }

        return frame;
    }

    /// <inheritdoc cref="Decode(in ReadOnlySequence{byte})"/>
    public static Frame Decode(ReadOnlySpan<byte> body) => Decode(new ReadOnlySequence<byte>(body.ToArray()));

    /// <summary>The size of <paramref name="frame"/> on the wire, prefix included.</summary>
    public static int EncodedLength(Frame frame)
    {
        ArgumentNullException.ThrowIfNull(frame);
        return ProtocolLimits.LengthPrefixBytes + frame.CalculateSize();
    }

    /// <summary>Writes the length prefix and the body of <paramref name="frame"/>.</summary>
    /// <exception cref="ProtocolException">The frame is larger than <paramref name="maxFrameBytes"/>.</exception>
    public static void Write(IBufferWriter<byte> writer, Frame frame, int maxFrameBytes = ProtocolLimits.DefaultMaxFrameBytes)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(frame);
        var size = frame.CalculateSize();
        if (size > maxFrameBytes)
        {
            throw new ProtocolException(ErrorCode.FrameTooLarge, "frame too large", frame.RequestId);
        }

        var span = writer.GetSpan(ProtocolLimits.LengthPrefixBytes + size);
        BinaryPrimitives.WriteUInt32BigEndian(span, (uint)size);
        frame.WriteTo(span.Slice(ProtocolLimits.LengthPrefixBytes, size));
        writer.Advance(ProtocolLimits.LengthPrefixBytes + size);
    }

    /// <summary>Encodes <paramref name="frame"/> with its length prefix into a new array (for sharing one encoding among many recipients).</summary>
    public static byte[] Encode(Frame frame, int maxFrameBytes = ProtocolLimits.DefaultMaxFrameBytes)
    {
        ArgumentNullException.ThrowIfNull(frame);
        var size = frame.CalculateSize();
        if (size > maxFrameBytes)
        {
            throw new ProtocolException(ErrorCode.FrameTooLarge, "frame too large", frame.RequestId);
        }

        var result = new byte[ProtocolLimits.LengthPrefixBytes + size];
        BinaryPrimitives.WriteUInt32BigEndian(result, (uint)size);
        frame.WriteTo(result.AsSpan(ProtocolLimits.LengthPrefixBytes));
        return result;
    }
}
