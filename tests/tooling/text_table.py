"""Plain-text tables for the suites' summaries (``make bench``, ``make reliability``)."""


def aligned(rows) -> str:
    """``rows`` (the header first), each a sequence of strings, as left-aligned columns two spaces apart."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows)
