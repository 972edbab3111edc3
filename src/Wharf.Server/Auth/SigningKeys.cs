namespace Wharf.Server.Auth;

/// <summary>
/// The token signing keys, kept in the database so every node of a cluster shares them. Bootstrap
/// loads (or creates) them before the listeners open; reading them earlier is a bug.
/// </summary>
internal sealed class SigningKeys
{
    public const string V1Setting = "v1-token-key";
    public const string DockerSetting = "docker-token-key";

    private byte[]? _v1;
    private byte[]? _docker;

    public byte[] V1 => _v1 ?? throw new InvalidOperationException("Signing keys are read before Bootstrap loaded them.");

    public byte[] Docker => _docker ?? throw new InvalidOperationException("Signing keys are read before Bootstrap loaded them.");

    public void Load(byte[] v1, byte[] docker)
    {
        _v1 = v1;
        _docker = docker;
    }
}
