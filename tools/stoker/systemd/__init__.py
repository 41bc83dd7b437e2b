"""systemd's own rules, checked by stoker without systemd (pure Python, standard library only).

calendar  OnCalendar= expressions: parse_calendar() -> CalendarSpec, .normalized() as
          `systemd-analyze calendar` prints it; CalendarError says what is wrong.
timespan  time spans such as RandomizedDelaySec=: parse_timespan() -> microseconds,
          format_timespan() as `systemd-analyze timespan` prints it; TimespanError.
unitname  unit names: unit_name_problem(), longest_base_name(), the unit type suffixes.
"""
