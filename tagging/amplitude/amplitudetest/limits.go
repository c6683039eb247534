package amplitudetest

import (
	"cmp"
	"net/http"
	"sync"
	"time"
)

// Documented per-user and per-device limits of the ingestion endpoints
// (HTTP V2, whose "throttling and status code guidance" the Identify API
// follows, https://amplitude.com/docs/apis/analytics/identify):
//
//   - https://amplitude.com/docs/apis/analytics/http-v2, 429: "Amplitude
//     throttles requests for users and devices that exceed 30 events per
//     second (measured as an average over a recent time window)"; the
//     answer is {"code":429, "error":"Too many requests for some devices
//     and users", "eps_threshold":30, "throttled_devices":{id: rate},
//     "throttled_users":{id: rate}, "throttled_events":[indexes]}, and the
//     sender should "pause sending events for that user or device for a
//     period of 30 seconds before retrying".
//   - https://amplitude.com/docs/apis/analytics/batch-event-upload, "EPDS
//     and EPUS": the rates are "averaged over a period of 30 seconds"; and
//     "Daily limit": 500,000 events per rolling 24 hours, counted in
//     one-hour intervals, for each device_id and each user_id of a project;
//     a batch that contains a user or device over it is refused with a 429
//     whose body names them in "exceeded_daily_quota_users" and
//     "exceeded_daily_quota_devices" (id → the day's count); "retry the
//     batch when there are less than 500,000 events" in the previous 24
//     hours.
//   - The Identify API: "If the same user_id is sending events from
//     multiple devices simultaneously, then all the devices would be
//     throttled."
//
// eps_threshold is "your app's current events per second threshold": it
// differs by project and plan (Batch's is 1000), so it is an Option with
// HTTP V2's 30 as default. Chosen here, as the documentation does not
// say: each identification counts as one event for its user_id and one
// for its device_id; a refused request counts for nothing; the daily
// quota counts every event (Amplitude starts counting only once it judges
// a user or device to be spamming).
const (
	DefaultEPSThreshold = 30
	DefaultEPSWindow    = 30 * time.Second
	DefaultDailyQuota   = 500_000
	// ThrottleMessage is the documented error of the 429.
	ThrottleMessage = "Too many requests for some devices and users"
)

// Options are the limits a Fake enforces on /identify, and its clock.
// Zero fields take the documented defaults.
type Options struct {
	// EPSThreshold is the events a second a user or a device may send,
	// averaged over EPSWindow. Default DefaultEPSThreshold.
	EPSThreshold int
	// EPSWindow is the window the rate is averaged over. Default
	// DefaultEPSWindow.
	EPSWindow time.Duration
	// DailyQuota is the most events a user or a device may send in a
	// rolling 24 hours. Default DefaultDailyQuota.
	DailyQuota int
	// Now is the fake's clock. Default time.Now; tests pass a Clock's Now
	// so that no test sleeps.
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	o.EPSThreshold = cmp.Or(o.EPSThreshold, DefaultEPSThreshold)
	o.EPSWindow = cmp.Or(o.EPSWindow, DefaultEPSWindow)
	o.DailyQuota = cmp.Or(o.DailyQuota, DefaultDailyQuota)
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// Clock is a clock a test moves by hand.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a clock at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now is the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// usage is what one user or device sent: per second, over the EPS window,
// and per hour, over the rolling day.
type usage struct {
	recent []stamp // oldest first
	hours  []stamp // start of each one-hour interval, oldest first
}

type stamp struct {
	at time.Time
	n  int
}

// counts returns the events of u inside the EPS window and inside the
// rolling day, at now, dropping what is older.
func (u *usage) counts(now time.Time, window time.Duration) (recent, day int) {
	for len(u.recent) > 0 && now.Sub(u.recent[0].at) >= window {
		u.recent = u.recent[1:]
	}
	// The rolling 24 hours "applies in one-hour intervals": the current
	// hour and the 23 before it.
	from := now.Truncate(time.Hour).Add(-23 * time.Hour)
	for len(u.hours) > 0 && u.hours[0].at.Before(from) {
		u.hours = u.hours[1:]
	}
	for _, s := range u.recent {
		recent += s.n
	}
	for _, s := range u.hours {
		day += s.n
	}
	return recent, day
}

func (u *usage) add(now time.Time, n int) {
	u.recent = append(u.recent, stamp{at: now, n: n})
	hour := now.Truncate(time.Hour)
	if k := len(u.hours); k > 0 && u.hours[k-1].at.Equal(hour) {
		u.hours[k-1].n += n
		return
	}
	u.hours = append(u.hours, stamp{at: hour, n: n})
}

// limiter counts the events of each user and device.
type limiter struct {
	opt     Options
	users   map[string]*usage
	devices map[string]*usage
}

func newLimiter(o Options) *limiter {
	return &limiter{opt: o.withDefaults(), users: map[string]*usage{}, devices: map[string]*usage{}}
}

func get(m map[string]*usage, id string) *usage {
	u := m[id]
	if u == nil {
		u = &usage{}
		m[id] = u
	}
	return u
}

// refusal is the body of a 429, nil when the request may be ingested.
type refusal map[string]any

// check judges a request of ids (one event each) at now: the documented
// 429 body when a user or device in it would exceed its rate or its daily
// quota, else nil, and the events are counted.
func (l *limiter) check(ids []parsedID) refusal {
	now := l.opt.Now()
	addUsers, addDevices := map[string]int{}, map[string]int{}
	for _, id := range ids {
		if id.UserID != "" {
			addUsers[id.UserID]++
		}
		if id.DeviceID != "" {
			addDevices[id.DeviceID]++
		}
	}
	windowSeconds := l.opt.EPSWindow.Seconds()
	judge := func(m map[string]*usage, add map[string]int) (throttled, overQuota map[string]int) {
		throttled, overQuota = map[string]int{}, map[string]int{}
		for id, n := range add {
			recent, day := get(m, id).counts(now, l.opt.EPSWindow)
			if float64(recent+n) > float64(l.opt.EPSThreshold)*windowSeconds {
				throttled[id] = int(float64(recent+n)/windowSeconds + 0.5)
			}
			if day+n > l.opt.DailyQuota {
				overQuota[id] = day + n
			}
		}
		return throttled, overQuota
	}
	tUsers, qUsers := judge(l.users, addUsers)
	tDevices, qDevices := judge(l.devices, addDevices)
	// A throttled user throttles every device it sends from.
	for _, id := range ids {
		if _, ok := tUsers[id.UserID]; ok && id.DeviceID != "" {
			if _, ok := tDevices[id.DeviceID]; !ok {
				recent, _ := get(l.devices, id.DeviceID).counts(now, l.opt.EPSWindow)
				tDevices[id.DeviceID] = int(float64(recent+addDevices[id.DeviceID])/windowSeconds + 0.5)
			}
		}
	}
	if len(tUsers)+len(qUsers)+len(tDevices)+len(qDevices) == 0 {
		for id, n := range addUsers {
			get(l.users, id).add(now, n)
		}
		for id, n := range addDevices {
			get(l.devices, id).add(now, n)
		}
		return nil
	}
	events := []int{}
	for i, id := range ids {
		_, tu := tUsers[id.UserID]
		_, qu := qUsers[id.UserID]
		_, td := tDevices[id.DeviceID]
		_, qd := qDevices[id.DeviceID]
		if tu || qu || td || qd {
			events = append(events, i)
		}
	}
	return refusal{"code": http.StatusTooManyRequests, "error": ThrottleMessage, "eps_threshold": l.opt.EPSThreshold,
		"throttled_users": tUsers, "throttled_devices": tDevices,
		"exceeded_daily_quota_users": qUsers, "exceeded_daily_quota_devices": qDevices,
		"throttled_events": events}
}

// record counts n events of a user (kind "user") or a device, as the
// app's own traffic.
func (l *limiter) record(m map[string]*usage, id string, n int) {
	now := l.opt.Now()
	u := get(m, id)
	u.counts(now, l.opt.EPSWindow)
	u.add(now, n)
}

// UserEvents counts n events of userID at the fake's now, as though the
// app's own SDK had sent them: they count toward the user's rate and daily
// quota, as every event does at Amplitude.
func (f *Fake) UserEvents(userID string, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.limits.record(f.limits.users, userID, n)
}

// DeviceEvents counts n events of deviceID at the fake's now, as
// UserEvents does for a user.
func (f *Fake) DeviceEvents(deviceID string, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.limits.record(f.limits.devices, deviceID, n)
}
