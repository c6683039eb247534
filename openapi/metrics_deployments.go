package openapi

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/understudy-dev/understudy/run"
)

var deploymentLastDesc = prometheus.NewDesc("understudy_deployment_last_timestamp_seconds",
	"When the newest deployment of an environment went live.", []string{"environment"}, nil)

// deploymentsCollector reports each environment's last deployment, read
// from the database at scrape time, so that every replica reports the
// same. An environment without deployments has no series. When the
// database does not answer, the metric is left out of that scrape.
type deploymentsCollector struct{ deployments *run.Deployments }

func (c *deploymentsCollector) Describe(ch chan<- *prometheus.Desc) { ch <- deploymentLastDesc }

func (c *deploymentsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	last, err := c.deployments.Last(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(deploymentLastDesc, err)
		return
	}
	for _, d := range last {
		ch <- prometheus.MustNewConstMetric(deploymentLastDesc, prometheus.GaugeValue, float64(d.DeployedAt.UnixNano())/1e9, d.Environment)
	}
}

var (
	flowCadenceDesc = prometheus.NewDesc("understudy_flow_cadence_seconds",
		"The cadence a flow should pass at: alerts compare its last success with it.", []string{"environment", "flow"}, nil)
	flowDeclaredDesc = prometheus.NewDesc("understudy_flow_declared_timestamp_seconds",
		"When a flow was declared (created): a flow that has never passed is late once its cadence has gone by since.", []string{"environment", "flow"}, nil)
	flowLastSuccessDesc = prometheus.NewDesc("understudy_flow_last_success_timestamp_seconds",
		"When the last passed run of a flow recorded its outcome; no series for a flow that has never passed.", []string{"environment", "flow"}, nil)
)

// flowsCollector reports every flow's cadence, when it was declared and
// when it last passed, read from the database at scrape time. When the database does not
// answer, the metrics are left out of that scrape.
type flowsCollector struct {
	flows *run.Flows
	// runs, when set, is primed with each flow's outcomes (run.Service.Prime).
	runs *run.Service
}

func (c *flowsCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- flowCadenceDesc
	ch <- flowDeclaredDesc
	ch <- flowLastSuccessDesc
}

func (c *flowsCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	flows, err := c.flows.All(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(flowCadenceDesc, err)
		return
	}
	for _, f := range flows {
		if c.runs != nil {
			c.runs.Prime(f.Environment, f.Role, f.Name)
		}
		ch <- prometheus.MustNewConstMetric(flowCadenceDesc, prometheus.GaugeValue, float64(f.EverySeconds), f.Environment, f.Name)
		ch <- prometheus.MustNewConstMetric(flowDeclaredDesc, prometheus.GaugeValue, float64(f.CreatedAt.UnixNano())/1e9, f.Environment, f.Name)
	}
	passed, err := c.flows.LastPassed(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(flowLastSuccessDesc, err)
		return
	}
	for _, p := range passed {
		ch <- prometheus.MustNewConstMetric(flowLastSuccessDesc, prometheus.GaugeValue, float64(p.At.UnixNano())/1e9, p.Environment, p.Flow)
	}
}
