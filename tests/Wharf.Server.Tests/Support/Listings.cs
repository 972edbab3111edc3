using System.Text.RegularExpressions;

namespace Wharf.Server.Tests.Support;

/// <summary>File listings (<c>?list</c>) compared across requests.</summary>
public static partial class Listings
{
    /// <summary>The listing without its <c>created</c> times: the root's is the time the listing was made, so two listings of an unchanged tree differ there.</summary>
    public static string WithoutTimes(string listing) => CreatedTime().Replace(listing, "");

    [GeneratedRegex("\"created\":\"[^\"]*\"")]
    private static partial Regex CreatedTime();
}
