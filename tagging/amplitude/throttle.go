package amplitude

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/understudy-dev/understudy/tagging"
)

// Amplitude's 429 on the Identify API, which follows HTTP V2's "throttling
// and status code guidance" (https://amplitude.com/docs/apis/analytics/identify):
//
//   - Throttling: a user or device over its events a second (30 on HTTP
//     V2, averaged over 30 seconds) is named in "throttled_users" or
//     "throttled_devices"; "pause sending events for that user or device
//     for a period of 30 seconds before retrying and continue retrying
//     until you no longer receive a 429"
//     (https://amplitude.com/docs/apis/analytics/http-v2). The Identify
//     page says 15 seconds; the longer pause is kept.
//   - Daily quota: a user or device over 500,000 events in a rolling 24
//     hours is named in "exceeded_daily_quota_users" or
//     "exceeded_daily_quota_devices"; "retry the batch when there are less
//     than 500,000 events uploaded for a user or device in the previous 24
//     hour period" (https://amplitude.com/docs/apis/analytics/batch-event-upload,
//     "Daily limit"). Retrying within a run cannot help: the run fails at
//     once and a later run sends the batch.
const (
	// ThrottlePause is the pause before a throttled batch is sent again,
	// unless Amplitude's Retry-After asks for another.
	ThrottlePause = 30 * time.Second
	// dailyQuota is Amplitude's documented daily quota, as the error names it.
	dailyQuota = "500,000 events a user or device in a rolling 24 hours, counted by the hour"
)

// tooManyRequests is the documented body of Amplitude's 429.
type tooManyRequests struct {
	Error                     string             `json:"error"`
	EPSThreshold              float64            `json:"eps_threshold"`
	ThrottledUsers            map[string]float64 `json:"throttled_users"`
	ThrottledDevices          map[string]float64 `json:"throttled_devices"`
	ExceededDailyQuotaUsers   map[string]float64 `json:"exceeded_daily_quota_users"`
	ExceededDailyQuotaDevices map[string]float64 `json:"exceeded_daily_quota_devices"`
	ThrottledEvents           []int              `json:"throttled_events"`
}

// classifyIngest reads the Identify API's 429 (see above) for the
// Sender: a daily quota is an error at once, a throttling is retried after
// ThrottlePause (or Retry-After). The body is described, never kept: only
// counts, the threshold and Amplitude's short error, scrubbed by sc.
func classifyIngest(sc *tagging.Scrubber) func(int, http.Header, []byte) tagging.Verdict {
	return func(status int, header http.Header, body []byte) tagging.Verdict {
		if status != http.StatusTooManyRequests {
			return tagging.Verdict{}
		}
		var ans tooManyRequests
		_ = json.Unmarshal(body, &ans) // another body is a throttling that names no one
		said := ""
		if msg := sc.Message(ans.Error); msg != "" {
			said = fmt.Sprintf(" (%q)", msg)
		}
		if users, devices := len(ans.ExceededDailyQuotaUsers), len(ans.ExceededDailyQuotaDevices); users+devices > 0 {
			return tagging.Verdict{Err: fmt.Errorf("%w: Amplitude answered 429%s: %s of this batch %s over Amplitude's daily quota "+
				"(%s): not retried now; a later run sends the batch once the quota allows",
				tagging.ErrUnavailable, said, count(users, devices), plural(users+devices, "is", "are"), dailyQuota)}
		}
		threshold := "its threshold of events a second"
		if ans.EPSThreshold > 0 {
			threshold = fmt.Sprintf("%g events a second", ans.EPSThreshold)
		}
		who := "users or devices"
		if users, devices := len(ans.ThrottledUsers), len(ans.ThrottledDevices); users+devices > 0 {
			who = count(users, devices)
		}
		pause := ThrottlePause
		if header.Get("Retry-After") != "" {
			pause = 0 // Amplitude's own wait wins
		}
		return tagging.Verdict{Retry: true, Wait: pause, Err: fmt.Errorf("%w: Amplitude answered 429%s: it throttles %s of this batch above %s "+
			"(averaged over 30 seconds) and asks for a pause of %s before a retry; a later run resumes what is left",
			tagging.ErrUnavailable, said, who, threshold, ThrottlePause)}
	}
}

// count says how many users and devices, for an error.
func count(users, devices int) string {
	var parts []string
	if users > 0 {
		parts = append(parts, fmt.Sprintf("%d %s", users, plural(users, "user", "users")))
	}
	if devices > 0 {
		parts = append(parts, fmt.Sprintf("%d %s", devices, plural(devices, "device", "devices")))
	}
	return strings.Join(parts, " and ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
