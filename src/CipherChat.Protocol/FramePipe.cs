using System.Buffers;
using System.IO.Pipelines;
using CipherChat.Protocol.V1;

namespace CipherChat.Protocol;

/// <summary>Reading and writing whole frames on System.IO.Pipelines, for both ends of a connection.</summary>
public static class FramePipe
{
    /// <summary>
    /// Reads the next frame. Returns null when the peer closed the stream cleanly between frames.
    /// </summary>
    /// <exception cref="ProtocolException">
    /// The frame is too large, malformed, of an unknown type (the frame has then been consumed and
    /// reading may go on), or the stream ended inside a frame (MALFORMED_FRAME, "truncated frame").
    /// </exception>
    public static async ValueTask<Frame?> ReadFrameAsync(PipeReader reader, int maxFrameBytes, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reader);
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            var consumed = buffer.Start;
            var examined = buffer.End;
            try
            {
                if (FrameCodec.TryReadFrame(ref buffer, maxFrameBytes, out var body))
                {
                    consumed = buffer.Start;
                    examined = consumed;
                    return FrameCodec.Decode(body);
                }

                if (result.IsCanceled)
                {
                    throw new OperationCanceledException("The read was canceled.");
                }

                if (result.IsCompleted)
                {
                    if (buffer.IsEmpty)
                    {
                        return null;
                    }

                    throw new ProtocolException(ErrorCode.MalformedFrame, "truncated frame");
                }
            }
            finally
            {
                reader.AdvanceTo(consumed, examined);
            }
        }
    }

    /// <summary>Writes one frame and flushes it.</summary>
    public static async ValueTask WriteFrameAsync(PipeWriter writer, Frame frame, int maxFrameBytes = ProtocolLimits.DefaultMaxFrameBytes, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(writer);
        FrameCodec.Write(writer, frame, maxFrameBytes);
        await writer.FlushAsync(cancellationToken).ConfigureAwait(false);
    }
}
