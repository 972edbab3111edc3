using System.Text;
using Wharf.Core.Docker.V1;
using Wharf.Core.Naming;
using Wharf.Core.Security;
using Wharf.Core.Tests.Support;

namespace Wharf.Core.Tests.Docker;

/// <summary>
/// What the tests of the V1 roles (docker-v1-protocol §6–§9) share: a fresh
/// <see cref="RegistryFixture"/> per test, the repository <c>acme/web</c> of its V1 repository,
/// three image ids, and shortcuts that publish, tag and follow images on the fake clock.
/// </summary>
public abstract class V1RoleTests : IAsyncLifetime
{
    private protected const string Repo = RegistryFixture.V1Repo;
    private protected static readonly V1RepositoryName Web = new("acme", "web");
    private protected static readonly string Base = RegistryFixture.ImageIdOf("base");
    private protected static readonly string Child = RegistryFixture.ImageIdOf("child");
    private protected static readonly string Loose = RegistryFixture.ImageIdOf("loose");

    private protected RegistryFixture _r = null!;

    public async Task InitializeAsync() => _r = await RegistryFixture.CreateAsync();

    public async Task DisposeAsync() => await _r.DisposeAsync();

    private protected static byte[] LayerOf(string id) => Encoding.UTF8.GetBytes("layer " + id);

    private protected Task PublishAsync(string id, string? parent = null) => _r.PublishV1ImageAsync(id, parent, LayerOf(id));

    private protected Task<V1Outcome> TagAsync(string tag, string id, ItemAccess? access = null, int maxUniqueTags = 0) =>
        _r.V1.Tags.PutTagAsync(Repo, Web, tag, id, RegistryFixture.User, access ?? RegistryFixture.AllowAll, default, maxUniqueTags);

    /// <summary>The images some tag of <c>acme/web</c>'s repository reaches, tag files in <paramref name="ignoredTagFiles"/> aside.</summary>
    private protected async Task<IReadOnlyCollection<string>> ReachableAsync(IReadOnlySet<string>? ignoredTagFiles = null)
    {
        await using var session = await _r.Store.OpenAsync(default);
        return (await V1Collector.ReachableImagesAsync(session, Repo, ignoredTagFiles ?? new HashSet<string>(), default)).Keys;
    }
}
