package amplitudetest_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/understudy-dev/understudy/tagging/amplitude/amplitudetest"
)

const key, secret = "amp-test-key-0123456789", "amp-test-secret-0123456789"

// answer is what the fake said to one identify request.
type answer struct {
	status int
	body   struct {
		Code                      int            `json:"code"`
		Error                     string         `json:"error"`
		EPSThreshold              int            `json:"eps_threshold"`
		ThrottledUsers            map[string]int `json:"throttled_users"`
		ThrottledDevices          map[string]int `json:"throttled_devices"`
		ExceededDailyQuotaUsers   map[string]int `json:"exceeded_daily_quota_users"`
		ExceededDailyQuotaDevices map[string]int `json:"exceeded_daily_quota_devices"`
		ThrottledEvents           []int          `json:"throttled_events"`
	}
}

// identify sends one identify request of the identifications, each a
// user id or "device:<id>".
func identify(t *testing.T, fake *amplitudetest.Fake, ids ...string) answer {
	t.Helper()
	items := make([]string, len(ids))
	for i, id := range ids {
		field := "user_id"
		if d, ok := strings.CutPrefix(id, "device:"); ok {
			field, id = "device_id", d
		}
		items[i] = fmt.Sprintf(`{%q:%q,"user_properties":{"$set":{"is_synthetic":true}}}`, field, id)
	}
	form := url.Values{"api_key": {key}, "identification": {"[" + strings.Join(items, ",") + "]"}}
	resp, err := fake.Client().PostForm("https://api2.amplitude.com/identify", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode}
	if resp.StatusCode == http.StatusTooManyRequests {
		if err := json.Unmarshal(raw, &a.body); err != nil {
			t.Fatalf("the 429 is not the documented JSON: %v", err)
		}
	}
	return a
}

func repeat(id string, n int) []string { return slices.Repeat([]string{id}, n) }

func newFake(t *testing.T, o amplitudetest.Options) (*amplitudetest.Fake, *amplitudetest.Clock) {
	clock := amplitudetest.NewClock(time.Date(2026, 3, 2, 10, 15, 0, 0, time.UTC))
	o.Now = clock.Now
	return amplitudetest.NewWith(t, key, secret, o), clock
}

// HTTP V2: 30 events a second for each user, averaged over 30 seconds, so
// 900 events in 30 seconds pass and the 901st is refused, with the
// documented body, until the window has passed.
func TestFakeThrottlesAUserOverThirtyEventsASecond(t *testing.T) {
	t.Parallel()
	fake, clock := newFake(t, amplitudetest.Options{})
	if a := identify(t, fake, repeat("busy-user@example.test", 900)...); a.status != http.StatusOK {
		t.Fatalf("900 events in 30 seconds answered %d, want 200", a.status)
	}
	clock.Advance(29 * time.Second)
	a := identify(t, fake, "calm-user@example.test", "busy-user@example.test")
	if a.status != http.StatusTooManyRequests {
		t.Fatalf("the 901st event within 30 seconds answered %d, want 429", a.status)
	}
	b := a.body
	if b.Code != 429 || b.Error != amplitudetest.ThrottleMessage || b.EPSThreshold != 30 ||
		!equal(b.ThrottledUsers, map[string]int{"busy-user@example.test": 30}) || len(b.ThrottledDevices) != 0 ||
		len(b.ExceededDailyQuotaUsers) != 0 || !slices.Equal(b.ThrottledEvents, []int{1}) {
		t.Fatalf("429 body %+v", b)
	}
	if slices.Contains(fake.Marked(), "calm-user@example.test") {
		t.Fatal("a refused request marked the other user of the batch")
	}
	clock.Advance(time.Second) // the 900 events are 30 seconds old
	if a := identify(t, fake, "calm-user@example.test", "busy-user@example.test"); a.status != http.StatusOK {
		t.Fatalf("after the window: %d, want 200", a.status)
	}
}

// The same for a device, and a throttled user throttles the devices it
// sends from.
func TestFakeThrottlesADevice(t *testing.T) {
	t.Parallel()
	fake, _ := newFake(t, amplitudetest.Options{EPSThreshold: 1, EPSWindow: 10 * time.Second})
	fake.DeviceEvents("device-0001", 10)
	a := identify(t, fake, "device:device-0001")
	if a.status != http.StatusTooManyRequests || !equal(a.body.ThrottledDevices, map[string]int{"device-0001": 1}) ||
		len(a.body.ThrottledUsers) != 0 || a.body.EPSThreshold != 1 {
		t.Fatalf("a device over its rate: %d %+v", a.status, a.body)
	}
	fake.UserEvents("busy-user@example.test", 10)
	form := url.Values{"api_key": {key}, "identification": {`[{"user_id":"busy-user@example.test","device_id":"device-0002","user_properties":{"$set":{"x":1}}}]`}}
	resp, err := fake.Client().PostForm("https://api2.amplitude.com/identify", form)
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		ThrottledUsers   map[string]int `json:"throttled_users"`
		ThrottledDevices map[string]int `json:"throttled_devices"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || len(body.ThrottledUsers) != 1 || len(body.ThrottledDevices) != 1 {
		t.Fatalf("a throttled user's device: %d %+v, want the user and its device throttled", resp.StatusCode, body)
	}
}

// The daily quota: events in a rolling 24 hours, counted by the hour,
// for each user and each device; a batch that holds one over it is
// refused, whatever its rate, until the hours have rolled past.
func TestFakeRefusesOverTheDailyQuota(t *testing.T) {
	t.Parallel()
	fake, clock := newFake(t, amplitudetest.Options{DailyQuota: 10})
	fake.UserEvents("heavy-user@example.test", 10)
	fake.DeviceEvents("heavy-device", 10)
	a := identify(t, fake, "someone-else@example.test", "heavy-user@example.test", "device:heavy-device")
	if a.status != http.StatusTooManyRequests || !equal(a.body.ExceededDailyQuotaUsers, map[string]int{"heavy-user@example.test": 11}) ||
		!equal(a.body.ExceededDailyQuotaDevices, map[string]int{"heavy-device": 11}) || len(a.body.ThrottledUsers) != 0 ||
		!slices.Equal(a.body.ThrottledEvents, []int{1, 2}) {
		t.Fatalf("over the daily quota: %d %+v", a.status, a.body)
	}
	if a := identify(t, fake, "someone-else@example.test"); a.status != http.StatusOK {
		t.Fatalf("a user under the quota: %d", a.status)
	}
	clock.Advance(23 * time.Hour) // 09:15 the next day: the 10:00 hour still counts
	if a := identify(t, fake, "heavy-user@example.test"); a.status != http.StatusTooManyRequests {
		t.Fatalf("23 hours later: %d, want 429", a.status)
	}
	clock.Advance(time.Hour) // 10:15: the hour of the 10 events has rolled out
	if a := identify(t, fake, "heavy-user@example.test", "device:heavy-device"); a.status != http.StatusOK {
		t.Fatalf("24 hours later: %d %+v, want 200", a.status, a.body)
	}
}

func equal(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
