using Wharf.Core.Metadata;

namespace Wharf.Core.Security;

internal static class ActionLetters
{
    private static readonly (AccessActions Action, char Letter)[] Order =
        [(AccessActions.Read, 'r'), (AccessActions.Annotate, 'n'), (AccessActions.Deploy, 'w'), (AccessActions.Delete, 'd'), (AccessActions.Manage, 'm')];

    /// <summary>Parses letters such as <c>["r","w"]</c>; null when one is unknown.</summary>
    public static AccessActions? Parse(IEnumerable<string?>? letters)
    {
        var actions = AccessActions.None;
        foreach (var letter in letters ?? [null])
        {
            var match = Order.FirstOrDefault(o => letter is { Length: 1 } && o.Letter == letter[0]);
            if (match.Letter == default)
            {
                return null;
            }

            actions |= match.Action;
        }

        return actions;
    }

    /// <summary>Letters in the spec's order r, n, w, d, m.</summary>
    public static IReadOnlyList<string> Format(AccessActions actions) =>
        [.. Order.Where(o => (actions & o.Action) != 0).Select(o => o.Letter.ToString())];

    /// <summary>Rule 4 of §6.5: any granted action implies read; manage implies all five.</summary>
    public static AccessActions Normalize(AccessActions actions) =>
        (actions & AccessActions.Manage) != 0 ? AccessActions.All
        : actions == AccessActions.None ? AccessActions.None
        : actions | AccessActions.Read;
}
