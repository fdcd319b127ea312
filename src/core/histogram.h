#pragma once
// Being written: mergeable latency histogram.
