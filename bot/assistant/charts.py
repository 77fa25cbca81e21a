"""The summary's chart: takings per day as a PNG, sized for a phone.

matplotlib's object API with the Agg canvas (no pyplot, no display, no global figure state), so charts can
be drawn from several threads at once. Imported lazily: the web process does not pay for matplotlib until
the first summary.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from bot.ledger.summaries import DayTotal


def daily_chart(series: Sequence[DayTotal], title: str) -> bytes:
    """Bars per day (KES), the last day highlighted; day-of-month labels."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    figure = Figure(figsize=(6.4, 3.2), dpi=100)
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    values = [float(d.total) for d in series]  # float for drawing only; every figure in words is Decimal
    colours = ["#9ccfa4"] * len(series)
    if colours:
        colours[-1] = "#1b7f3b"
    ax.bar(range(len(series)), values, color=colours)
    ax.set_xticks(range(len(series)), [f"{d.day.day}" for d in series], fontsize=8)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:,.0f}"))
    ax.tick_params(axis="y", labelsize=8)
    ax.set_title(title, fontsize=10)
    ax.set_ylabel("KES", fontsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    figure.subplots_adjust(left=0.13, right=0.98, top=0.9, bottom=0.1)  # tight_layout costs ~0.3 s
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()
