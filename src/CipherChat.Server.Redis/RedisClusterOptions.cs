namespace CipherChat.Server.Redis;

/// <summary>How a node reaches the other nodes. Bound from configuration section "ScaleOut".</summary>
public sealed class RedisClusterOptions
{
    /// <summary>"HOST:PORT", or any StackExchange.Redis configuration string ("host:6379,password=...,ssl=true").</summary>
    public string? Redis { get; set; }

    /// <summary>The pub/sub channel; every node of one cluster must use the same one.</summary>
    public string Channel { get; set; } = "cipherchat:fanout";

    /// <summary>How often a node compares its rooms with the database, to repair lost notifications.</summary>
    public double CatchUpIntervalSeconds { get; set; } = 2;

    /// <summary>Checks every value.</summary>
    /// <exception cref="ArgumentException">A value is out of range; the message names it.</exception>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(Redis))
        {
            throw new ArgumentException("--redis must be HOST:PORT.");
        }

        if (string.IsNullOrWhiteSpace(Channel) || Channel.Length > 200)
        {
            throw new ArgumentException("ScaleOut:Channel must be 1-200 characters.");
        }

        if (CatchUpIntervalSeconds is < 0.05 or > 3600)
        {
            throw new ArgumentException("ScaleOut:CatchUpIntervalSeconds must be between 0.05 and 3600.");
        }
    }
}
