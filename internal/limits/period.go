package limits

import (
	"time"
	_ "time/tzdata" // time zones must load on minimal systems too (about 450 kB of binary)
)

// Period is a calendar period of a budget, in the budget's time zone.
type Period uint8

const (
	// NoPeriod: the limit has no calendar period (a sliding window, a
	// rolling budget, or concurrency).
	NoPeriod Period = iota
	Day
	// Week starts on Monday.
	Week
	Month
)

var periodNames = [...]string{NoPeriod: "", Day: "day", Week: "week", Month: "month"}

func (p Period) String() string { return periodNames[p] }

func parsePeriod(s string) (Period, bool) {
	for p, name := range periodNames {
		if p != 0 && s == name {
			return Period(p), true
		}
	}
	return NoPeriod, false
}

// Bounds returns the start and end of the period that holds now, in loc.
// Calendar arithmetic (time.Date normalises day 32 and month 13) keeps
// days of 23 or 25 hours, at daylight saving changes, right.
func (p Period) Bounds(now time.Time, loc *time.Location) (start, end time.Time) {
	y, m, d := now.In(loc).Date()
	switch p {
	case Day:
		return time.Date(y, m, d, 0, 0, 0, 0, loc), time.Date(y, m, d+1, 0, 0, 0, 0, loc)
	case Week:
		back := (int(now.In(loc).Weekday()) + 6) % 7 // days since Monday
		return time.Date(y, m, d-back, 0, 0, 0, 0, loc), time.Date(y, m, d-back+7, 0, 0, 0, 0, loc)
	case Month:
		return time.Date(y, m, 1, 0, 0, 0, 0, loc), time.Date(y, m+1, 1, 0, 0, 0, 0, loc)
	}
	return time.Time{}, time.Time{}
}

// label names a period by its start, as counter names carry it: 2026-12
// for a month, the date of its first day for a day or a week.
func (p Period) label(start time.Time) string {
	if p == Month {
		return start.Format("2006-01")
	}
	return start.Format("2006-01-02")
}
