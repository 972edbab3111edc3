using System.Globalization;

namespace Wharf.Server.Http;

/// <summary>Times as Artifactory's JSON writes them: ISO 8601 in UTC with milliseconds (rest-api §1.3).</summary>
internal static class WireTime
{
    public static string Iso(DateTimeOffset time) => time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
}
