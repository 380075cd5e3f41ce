"""Export tax refund (出口退税) SLA library: working-day calendar, SLA profiles, deadlines, clocks, reports.

Pure library: no database, no network, no system clock. The hub supplies loaded calendar years (through a
`CalendarStore`), the current time and the applications table. See docs/refunds.md.
"""

from refunds.calendar import CalendarError, NoticeSource, WorkingCalendar, YearCalendar
from refunds.clock import ClockError, ClockState, ClockStatus, Light, SlaClock
from refunds.deadline import (
    Deadline,
    DeadlineRequest,
    compute_deadline,
    recompute_provisional,
    stage_deadline,
)
from refunds.notice import NoticeError, load_notice_file, parse_notice, parse_notice_text
from refunds.report import Report, ReportInputError, build_report, row_metrics, summarise
from refunds.sla import DEFAULT_PROFILE, STAGES, ProfileError, ProfileRegistry, SlaProfile
from refunds.store import CalendarStore, FileCalendarStore, MemoryCalendarStore, calendar_from_store

__all__ = [
    "DEFAULT_PROFILE",
    "STAGES",
    "CalendarError",
    "CalendarStore",
    "ClockError",
    "ClockState",
    "ClockStatus",
    "Deadline",
    "DeadlineRequest",
    "FileCalendarStore",
    "Light",
    "MemoryCalendarStore",
    "NoticeError",
    "NoticeSource",
    "ProfileError",
    "ProfileRegistry",
    "Report",
    "ReportInputError",
    "SlaClock",
    "SlaProfile",
    "WorkingCalendar",
    "YearCalendar",
    "build_report",
    "calendar_from_store",
    "compute_deadline",
    "load_notice_file",
    "parse_notice",
    "parse_notice_text",
    "recompute_provisional",
    "row_metrics",
    "stage_deadline",
    "summarise",
]
