using Wharf.Core.Security;

namespace Wharf.Core.Tests.Security;

public sealed class AntPatternTests
{
    [Theory]
    [InlineData("**", "", true)]
    [InlineData("**", "a/b/c", true)]
    [InlineData("team-a/**", "team-a", true)]
    [InlineData("team-a/**", "team-a/web/1.0/manifest.json", true)]
    [InlineData("team-a/**", "team-b/web", false)]
    [InlineData("team-a/**", "team-ab/web", false)]
    [InlineData("*/web", "team-a/web", true)]
    [InlineData("*/web", "team-a/x/web", false)]
    [InlineData("**/web", "a/b/web", true)]
    [InlineData("**/web", "web", true)]
    [InlineData("**/*.json", "a/b/tag.json", true)]
    [InlineData("repositories/acme/**", "repositories/acme/web", true)]
    [InlineData("repositories/acme/**", "repositories/acmex/web", false)]
    [InlineData("a/?b", "a/xb", true)]
    [InlineData("a/?b", "a/xxb", false)]
    [InlineData("a/**/z", "a/z", true)]
    [InlineData("a/**/z", "a/b/c/z", true)]
    [InlineData("Team-A/**", "team-a/web", false)]
    public void Patterns_match_like_ant(string pattern, string path, bool expected) =>
        Assert.Equal(expected, AntPattern.Matches(pattern, path));

    [Theory]
    [InlineData("repositories/acme/**", "", true)]
    [InlineData("repositories/acme/**", "repositories", true)]
    [InlineData("repositories/acme/**", "repositories/other", false)]
    [InlineData("*/web/**", "team-a", true)]
    [InlineData("a/b", "a/b", false)]
    public void Folders_above_a_pattern_could_match_below(string pattern, string folder, bool expected) =>
        Assert.Equal(expected, AntPattern.CouldMatchBelow(pattern, folder));

    [Fact]
    public void Comma_separated_lists_match_any() =>
        Assert.True(AntPattern.MatchesAny("x/**, .images/**", ".images/abc"));

    [Theory]
    [InlineData(new[] { "r" }, "r")]
    [InlineData(new[] { "w" }, "r,w")]
    [InlineData(new[] { "n", "d" }, "r,n,d")]
    [InlineData(new[] { "m" }, "r,n,w,d,m")]
    public void Any_action_implies_read_and_manage_implies_all(string[] letters, string expected) =>
        Assert.Equal(expected, string.Join(',', ActionLetters.Format(ActionLetters.Normalize(ActionLetters.Parse(letters)!.Value))));

    [Fact]
    public void Unknown_letters_are_refused() => Assert.Null(ActionLetters.Parse(["r", "x"]));
}
