#ifndef GRALARM_GRAFANA_INTERPOLATE_H_
#define GRALARM_GRAFANA_INTERPOLATE_H_

// The template service's variable syntax and formats, shared by Interpolate
// and the resolution of query variables (whose find query may use other
// variables, resolved on demand through the lookup).

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "gralarm/grafana.h"

namespace gralarm::grafana {

// The variable of that name, or null when the dashboard has none.
using VariableLookup =
    std::function<const ResolvedVariable*(std::string_view name)>;

// Interpolate() with a lookup.
Interpolated InterpolateWith(std::string_view text,
                             const VariableLookup& lookup);

// The value of `v` in format `format` (Grafana's format id, "" = glob), All
// expanded; `lookup` interpolates a custom allValue.
std::string FormatVariable(const ResolvedVariable& v, std::string_view format,
                           const VariableLookup& lookup, int depth);

// JavaScript's encodeURIComponent, also encoding !'()* (Grafana's
// encodeURIComponentStrict).
std::string EncodeUriComponentStrict(std::string_view s);

}  // namespace gralarm::grafana

#endif  // GRALARM_GRAFANA_INTERPOLATE_H_
