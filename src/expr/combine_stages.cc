// AggregateStage, PercentileStage, GroupStage, AsPercentStage and DivideStage
// (stages.h).
#include <algorithm>
#include <cmath>
#include <numeric>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "expr/pyformat.h"
#include "expr/stages.h"

namespace gralarm::expr {

namespace {

// safeMul(safeDiv(a, b), 100.0).
Value Percent(Value a, Value b) {
  if (!a.ok || !b.ok || b.v == 0) return Value::None();
  return Value::Of((a.v / b.v) * 100.0);
}

// safeDiv(a, b).
Value SafeDiv(Value a, Value b) {
  if (!a.ok || !b.ok || b.v == 0) return Value::None();
  return Value::Of(a.v / b.v);
}

std::string FormatPaths(const std::vector<Series>& list,
                        const std::vector<size_t>& members) {
  std::vector<absl::string_view> seen;
  for (size_t i : members) {
    const std::string& p = list[i].path_expression;
    if (std::find(seen.begin(), seen.end(), p) == seen.end()) {
      seen.push_back(p);
    }
  }
  return absl::StrJoin(seen, ",");
}

}  // namespace

// ---- AggregateStage

void AggregateStage::Reshape() {
  std::vector<const std::vector<Series>*> lists;
  size_t total = 0;
  for (size_t i = 0; i < children().size(); ++i) {
    lists.push_back(&in(i));
    total += in(i).size();
  }
  identity_ = func_ == AggFunc::kMultiply && !count_series_ &&
              children().size() == 1 && in(0).size() == 1;
  out_.clear();
  row_.assign(total, Value::None());
  if (total == 0) return;  // graphite: normalize() of nothing, no series
  if (identity_) {
    out_.push_back(in(0)[0]);
    return;
  }
  const std::string name =
      absl::StrCat(count_series_ ? "count" : func_name_, "Series(",
                   FormatPathExpressions(lists), ")");
  out_.push_back(MadeSeries(name));
}

void AggregateStage::Compute(const StepContext&) {
  if (out_.empty()) return;
  if (identity_) {
    out_[0].value = in(0)[0].value;
    return;
  }
  size_t k = 0;
  for (size_t i = 0; i < children().size(); ++i) {
    for (const Series& s : in(i)) row_[k++] = s.value;
  }
  out_[0].value = count_series_ ? Value::Of(static_cast<double>(row_.size()))
                                : AggregateRow(func_, row_.data(), row_.size(),
                                               0, &scratch_);
}

// ---- PercentileStage

void PercentileStage::Reshape() {
  out_.clear();
  if (in(0).empty()) return;
  const std::string name = absl::StrCat(
      "percentileOfSeries(", in(0)[0].path_expression, ",", n_text_, ")");
  out_.push_back(MadeSeries(name));
}

void PercentileStage::Compute(const StepContext&) {
  if (out_.empty()) return;
  sorted_.clear();
  for (const Series& s : in(0)) {
    if (s.value.ok) sorted_.push_back(s.value.v);
  }
  if (sorted_.empty()) {
    out_[0].value = Value::None();
    return;
  }
  std::sort(sorted_.begin(), sorted_.end());
  const int64_t len = static_cast<int64_t>(sorted_.size());
  const double fractional = (n_ / 100.0) * static_cast<double>(len + 1);
  int64_t rank = static_cast<int64_t>(fractional);
  const double fraction = fractional - static_cast<double>(rank);
  if (!interpolate_) rank += static_cast<int64_t>(std::ceil(fraction));
  double p;
  if (rank == 0) {
    p = sorted_[0];
  } else if (rank - 1 == len) {
    p = sorted_[len - 1];
  } else if (rank - 1 < len) {
    p = sorted_[rank - 1];
  } else {
    out_[0].value = Value::None();  // n > 100: graphite raises
    return;
  }
  if (interpolate_ && rank != len) {
    const double next = sorted_[rank];
    p = p + fraction * (next - p);
  }
  out_[0].value = Value::Of(p);
}

// ---- GroupStage

std::optional<GroupStage::Callback> GroupStage::CallbackByName(
    std::string_view name) {
  Callback cb;
  if (name == "sum" || name == "sumSeries") {
    cb.func = AggFunc::kSum;
    cb.series_name = "sumSeries";
  } else if (name == "avg" || name == "averageSeries") {
    cb.func = AggFunc::kAverage;
    cb.series_name = "averageSeries";
  } else if (name == "maxSeries") {
    cb.func = AggFunc::kMax;
    cb.series_name = "maxSeries";
  } else if (name == "minSeries") {
    cb.func = AggFunc::kMin;
    cb.series_name = "minSeries";
  } else if (name == "diffSeries") {
    cb.func = AggFunc::kDiff;
    cb.series_name = "diffSeries";
  } else if (name == "stddevSeries") {
    cb.func = AggFunc::kStddev;
    cb.series_name = "stddevSeries";
  } else if (name == "rangeOfSeries") {
    cb.func = AggFunc::kRange;
    cb.series_name = "rangeOfSeries";
  } else if (name == "multiplySeries") {
    cb.func = AggFunc::kMultiply;
    cb.series_name = "multiplySeries";
    cb.multiply_series = true;
  } else if (name == "countSeries") {
    cb.count_series = true;
    cb.series_name = "countSeries";
  } else if (auto f = AggFuncByName(name)) {
    cb.func = *f;
    cb.series_name = absl::StrCat(Sv(name), "Series");
  } else {
    return std::nullopt;
  }
  return cb;
}

void GroupStage::Reshape() {
  const std::vector<Series>& input = in(0);
  std::vector<std::string> keys;
  absl::flat_hash_map<std::string, size_t> index;
  groups_.clear();
  for (size_t i = 0; i < input.size(); ++i) {
    std::string key;
    if (wildcards_) {
      std::vector<absl::string_view> parts = absl::StrSplit(input[i].name, '.');
      std::vector<absl::string_view> kept;
      for (size_t p = 0; p < parts.size(); ++p) {
        if (std::find(nodes_.begin(), nodes_.end(), static_cast<int64_t>(p)) ==
            nodes_.end()) {
          kept.push_back(parts[p]);
        }
      }
      key = absl::StrJoin(kept, ".");
    } else {
      key = NodeKey(input[i].name, nodes_);
    }
    auto [it, inserted] = index.try_emplace(key, groups_.size());
    if (inserted) {
      keys.push_back(key);
      groups_.emplace_back();
    }
    groups_[it->second].push_back(i);
  }
  out_.resize(groups_.size());
  size_t widest = 0;
  for (size_t g = 0; g < groups_.size(); ++g) {
    out_[g].name = keys[g];
    out_[g].key = SeriesKey(keys[g]);
    out_[g].path_expression =
        cb_.multiply_series && groups_[g].size() == 1
            ? input[groups_[g][0]].path_expression
            : absl::StrCat(cb_.series_name, "(", FormatPaths(input, groups_[g]),
                           ")");
    widest = std::max(widest, groups_[g].size());
  }
  row_.resize(widest);
}

void GroupStage::Compute(const StepContext&) {
  const std::vector<Series>& input = in(0);
  for (size_t g = 0; g < groups_.size(); ++g) {
    const std::vector<size_t>& members = groups_[g];
    if (cb_.count_series) {
      out_[g].value = Value::Of(static_cast<double>(members.size()));
      continue;
    }
    for (size_t k = 0; k < members.size(); ++k) {
      row_[k] = input[members[k]].value;
    }
    out_[g].value =
        AggregateRow(cb_.func, row_.data(), members.size(), 0, &scratch_);
  }
}

// ---- AsPercentStage

Value AsPercentStage::TotalValue(const Total& t) const {
  if (t.missing) return Value::Of(*total_number_);
  if (t.members.size() == 1) {
    return in(t.members[0].first)[t.members[0].second].value;
  }
  double sum = 0;
  bool any = false;
  for (const auto& [child, i] : t.members) {
    const Value v = in(child)[i].value;
    if (v.ok) {
      sum += v.v;
      any = true;
    }
  }
  return any ? Value::Of(sum) : Value::None();
}

void AsPercentStage::Reshape() {
  const std::vector<Series>& series = in(0);
  totals_.clear();
  outputs_.clear();
  out_.clear();
  if (series.empty()) return;  // graphite: normalize() of nothing
  auto add_output = [&](std::string name, std::optional<size_t> index,
                        std::optional<size_t> total) {
    Output o;
    if (index) o.series = std::make_pair(0, *index);
    o.total = total.value_or(0);
    o.no_total = !total.has_value() || !index.has_value();
    outputs_.push_back(o);
    out_.push_back(MadeSeries(name));
  };
  auto sum_total = [&](int child, const std::vector<size_t>& members,
                       std::string* name) {
    Total t;
    for (size_t i : members) t.members.push_back({child, i});
    *name =
        members.size() == 1
            ? in(child)[members[0]].name
            : absl::StrCat("sumSeries(", FormatPaths(in(child), members), ")");
    totals_.push_back(std::move(t));
    return totals_.size() - 1;
  };

  if (!nodes_.empty()) {
    std::vector<std::string> keys;
    absl::flat_hash_map<std::string, std::vector<size_t>> meta;
    for (size_t i = 0; i < series.size(); ++i) {
      std::string key = NodeKey(series[i].name, nodes_);
      auto [it, inserted] = meta.try_emplace(key);
      if (inserted) keys.push_back(key);
      it->second.push_back(i);
    }
    absl::flat_hash_map<std::string, std::pair<size_t, std::string>> totals;
    if (!total_is_list_) {
      for (const std::string& key : keys) {
        std::string name;
        const size_t t = sum_total(0, meta[key], &name);
        totals[key] = {t, name};
      }
    } else {
      const std::vector<Series>& total = in(1);
      std::vector<std::string> total_keys;
      absl::flat_hash_map<std::string, std::vector<size_t>> groups;
      for (size_t i = 0; i < total.size(); ++i) {
        std::string key = NodeKey(total[i].name, nodes_);
        auto [it, inserted] = groups.try_emplace(key);
        if (inserted) {
          total_keys.push_back(key);
          if (!meta.contains(key)) keys.push_back(key);
        }
        it->second.push_back(i);
      }
      for (const std::string& key : total_keys) {
        std::string name;
        const size_t t = sum_total(1, groups[key], &name);
        totals[key] = {t, name};
      }
    }
    for (const std::string& key : keys) {
      auto m = meta.find(key);
      auto t = totals.find(key);
      if (m == meta.end()) {
        add_output(absl::StrCat("asPercent(MISSING,", t->second.second, ")"),
                   std::nullopt, t->second.first);
        continue;
      }
      for (size_t i : m->second) {
        if (t == totals.end()) {
          add_output(absl::StrCat("asPercent(", series[i].name, ",MISSING)"), i,
                     std::nullopt);
        } else {
          add_output(absl::StrCat("asPercent(", series[i].name, ",",
                                  t->second.second, ")"),
                     i, t->second.first);
        }
      }
    }
    return;
  }

  if (total_number_) {
    totals_.push_back({{}, true});
    for (size_t i = 0; i < series.size(); ++i) {
      add_output(
          absl::StrCat("asPercent(", series[i].name, ",", total_text_, ")"), i,
          0);
    }
    return;
  }
  if (!total_is_list_) {
    std::vector<size_t> all(series.size());
    std::iota(all.begin(), all.end(), 0);
    std::string name;
    sum_total(0, all, &name);
    if (series.size() == 1) {
      name = absl::StrCat("sumSeries(", series[0].path_expression, ")");
    }
    for (size_t i = 0; i < series.size(); ++i) {
      add_output(absl::StrCat("asPercent(", series[i].name, ",", name, ")"), i,
                 0);
    }
    return;
  }
  const std::vector<Series>& total = in(1);
  if (total.size() != 1 && total.size() != series.size()) {
    return;  // graphite raises InputParameterError: no series
  }
  if (total.size() == series.size()) {
    // matchSeries: both lists sorted by name (stable), paired by position.
    auto sorted = [](const std::vector<Series>& list) {
      std::vector<size_t> order(list.size());
      std::iota(order.begin(), order.end(), 0);
      std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        return list[a].name < list[b].name;
      });
      return order;
    };
    const std::vector<size_t> a = sorted(series);
    const std::vector<size_t> b = sorted(total);
    for (size_t k = 0; k < a.size(); ++k) {
      totals_.push_back({{{1, b[k]}}, false});
      add_output(absl::StrCat("asPercent(", series[a[k]].name, ",",
                              total[b[k]].name, ")"),
                 a[k], totals_.size() - 1);
    }
    return;
  }
  totals_.push_back({{{1, 0}}, false});
  for (size_t i = 0; i < series.size(); ++i) {
    add_output(
        absl::StrCat("asPercent(", series[i].name, ",", total[0].name, ")"), i,
        0);
  }
}

void AsPercentStage::Compute(const StepContext&) {
  total_values_.resize(totals_.size());
  for (size_t t = 0; t < totals_.size(); ++t) {
    total_values_[t] = TotalValue(totals_[t]);
  }
  for (size_t o = 0; o < outputs_.size(); ++o) {
    const Output& out = outputs_[o];
    out_[o].value = out.no_total ? Value::None()
                                 : Percent(in(0)[out.series->second].value,
                                           total_values_[out.total]);
  }
}

// ---- DivideStage

void DivideStage::Reshape() {
  const std::vector<Series>& dividends = in(0);
  const std::vector<Series>& divisors = in(1);
  out_.clear();
  missing_divisor_ = false;
  if (lists_) {
    if (dividends.size() != divisors.size()) return;  // graphite raises
    for (size_t i = 0; i < dividends.size(); ++i) {
      const std::string name = absl::StrCat("divideSeries(", dividends[i].name,
                                            ",", divisors[i].name, ")");
      out_.push_back(MadeSeries(name));
    }
    return;
  }
  if (divisors.size() > 1) return;  // graphite raises: exactly 1 series
  missing_divisor_ = divisors.empty();
  for (const Series& d : dividends) {
    const std::string name =
        absl::StrCat("divideSeries(", d.name, ",",
                     missing_divisor_ ? "MISSING" : divisors[0].name, ")");
    out_.push_back(MadeSeries(name));
  }
}

void DivideStage::Compute(const StepContext&) {
  const std::vector<Series>& dividends = in(0);
  const std::vector<Series>& divisors = in(1);
  for (size_t i = 0; i < out_.size(); ++i) {
    if (missing_divisor_) {
      out_[i].value = Value::None();
    } else {
      out_[i].value =
          SafeDiv(dividends[i].value, divisors[lists_ ? i : 0].value);
    }
  }
}

}  // namespace gralarm::expr
