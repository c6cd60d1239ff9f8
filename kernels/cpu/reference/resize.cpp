// Reference Resize (opsets 10-19) and Upsample (opsets 7-9): nearest, (n-)linear
// and cubic interpolation with every coordinate transformation mode, nearest
// rounding mode, cubic coefficient, exclude_outside, tf_crop_and_resize's roi
// and extrapolation value, axes and keep_aspect_ratio_policy.
//
// The interpolation is separable: each resized axis gets, per output index,
// a list of (input index, weight) taps; an output element is the sum over the
// product of its axes' taps. Axes that are not resized get one tap of weight 1.
#include "kernels/cpu/kernel_util.h"
#include "kernels/cpu/reference/reference.h"

#include <algorithm>
#include <cmath>

namespace sb::kernels {

namespace {

struct Tap
{
    std::int64_t index = 0;
    double weight = 0;
};

// Taps of one output position along one axis; `outside` = tf_crop_and_resize
// sampled outside the input (the element takes the extrapolation value).
struct AxisTaps
{
    std::vector<std::vector<Tap>> taps; // per output index
    std::vector<char> outside;          // per output index
};

struct ResizeAttrs
{
    std::string mode = "nearest";
    std::string transform = "half_pixel";
    std::string nearestMode = "round_prefer_floor";
    double cubicA = -0.75;
    bool excludeOutside = false;
    double extrapolation = 0;
    bool legacy = false; // opset < 11: asymmetric, "simple" nearest rounding
};

double originalCoordinate(const ResizeAttrs &a, double x, double scale, std::int64_t inLen,
                          std::int64_t outLen, double roiStart, double roiEnd)
{
    const std::string &t = a.transform;
    if (a.legacy || t == "asymmetric")
        return x / scale;
    if (t == "half_pixel")
        return (x + 0.5) / scale - 0.5;
    if (t == "half_pixel_symmetric") {
        double adjustment = static_cast<double>(outLen) / (scale * static_cast<double>(inLen));
        double center = static_cast<double>(inLen) / 2;
        double offset = center * (1 - adjustment);
        return offset + (x + 0.5) / scale - 0.5;
    }
    if (t == "pytorch_half_pixel")
        return outLen > 1 ? (x + 0.5) / scale - 0.5 : 0.0;
    // The resized length as the scale gives it (not rounded), as the spec's
    // reference computes align_corners and tf_crop_and_resize coordinates.
    const double resized = scale * static_cast<double>(inLen);
    if (t == "align_corners")
        return outLen == 1 ? 0.0 : x * static_cast<double>(inLen - 1) / (resized - 1);
    if (t == "tf_half_pixel_for_nn")
        return (x + 0.5) / scale;
    // tf_crop_and_resize
    double span = static_cast<double>(inLen - 1);
    return outLen > 1 ? roiStart * span + x * (roiEnd - roiStart) * span / (resized - 1)
                      : 0.5 * (roiStart + roiEnd) * span;
}

std::int64_t nearestIndex(const ResizeAttrs &a, double x, bool downsampling)
{
    if (a.legacy)
        return static_cast<std::int64_t>(downsampling ? std::ceil(x) : std::floor(x));
    const std::string &m = a.nearestMode;
    if (m == "floor")
        return static_cast<std::int64_t>(std::floor(x));
    if (m == "ceil")
        return static_cast<std::int64_t>(std::ceil(x));
    double f = std::floor(x);
    if (x - f == 0.5)
        return static_cast<std::int64_t>(m == "round_prefer_ceil" ? f + 1 : f);
    return static_cast<std::int64_t>(std::round(x));
}

void cubicCoefficients(double t, double A, double c[4])
{
    double x0 = t + 1, x1 = t, x2 = 1 - t, x3 = 2 - t;
    c[0] = ((A * x0 - 5 * A) * x0 + 8 * A) * x0 - 4 * A;
    c[1] = ((A + 2) * x1 - (A + 3)) * x1 * x1 + 1;
    c[2] = ((A + 2) * x2 - (A + 3)) * x2 * x2 + 1;
    c[3] = ((A * x3 - 5 * A) * x3 + 8 * A) * x3 - 4 * A;
}

AxisTaps axisTaps(const ResizeAttrs &a, std::int64_t inLen, std::int64_t outLen, double scale,
                  double roiStart, double roiEnd)
{
    AxisTaps result;
    result.taps.resize(static_cast<std::size_t>(outLen));
    result.outside.assign(static_cast<std::size_t>(outLen), 0);
    auto clampIndex = [&](std::int64_t i) { return std::clamp<std::int64_t>(i, 0, inLen - 1); };
    for (std::int64_t o = 0; o < outLen; ++o) {
        auto &taps = result.taps[static_cast<std::size_t>(o)];
        if (inLen == outLen && scale == 1.0 && a.transform != "tf_crop_and_resize") {
            taps.push_back({o, 1.0});
            continue;
        }
        double x =
            originalCoordinate(a, static_cast<double>(o), scale, inLen, outLen, roiStart, roiEnd);
        if (!a.legacy && a.transform == "tf_crop_and_resize" &&
            (x < 0 || x > static_cast<double>(inLen - 1))) {
            result.outside[static_cast<std::size_t>(o)] = 1;
            continue;
        }
        if (a.mode == "nearest") {
            taps.push_back({clampIndex(nearestIndex(a, x, scale < 1.0)), 1.0});
        } else if (a.mode == "linear") {
            // Clamping the coordinate first is what edge padding gives.
            double xc = std::clamp(x, 0.0, static_cast<double>(inLen - 1));
            auto x0 = static_cast<std::int64_t>(std::floor(xc));
            double t = xc - static_cast<double>(x0);
            taps.push_back({x0, 1 - t});
            if (t != 0)
                taps.push_back({clampIndex(x0 + 1), t});
        } else { // cubic
            auto x0 = static_cast<std::int64_t>(std::floor(x));
            double c[4];
            cubicCoefficients(x - static_cast<double>(x0), a.cubicA, c);
            double sum = 0;
            for (int j = 0; j < 4; ++j) {
                std::int64_t i = x0 - 1 + j;
                if (a.excludeOutside && (i < 0 || i >= inLen))
                    continue;
                taps.push_back({clampIndex(i), c[j]});
                sum += c[j];
            }
            if (a.excludeOutside && sum != 0)
                for (auto &tap : taps)
                    tap.weight /= sum;
        }
    }
    return result;
}

// Applies the axes' taps one axis at a time, last axis first, as the spec's
// reference recursion does (an element sampled outside the roi on an axis
// takes the extrapolation value before the outer axes mix it).
template <typename T>
void interpolate(const Tensor &x, Tensor &out, const std::vector<AxisTaps> &axes,
                 double extrapolation)
{
    Shape shape = x.shape();
    std::vector<double> cur(static_cast<std::size_t>(x.elementCount()));
    for (std::int64_t i = 0; i < x.elementCount(); ++i)
        cur[static_cast<std::size_t>(i)] = static_cast<double>(x.as<T>()[i]);
    for (std::size_t d = shape.size(); d-- > 0;) {
        const AxisTaps &taps = axes[d];
        const auto outLen = static_cast<std::int64_t>(taps.taps.size());
        if (outLen == shape[d]) {
            bool identity = true;
            for (std::int64_t o = 0; o < outLen && identity; ++o) {
                const auto &t = taps.taps[static_cast<std::size_t>(o)];
                identity = !taps.outside[static_cast<std::size_t>(o)] && t.size() == 1 &&
                           t[0].index == o && t[0].weight == 1.0;
            }
            if (identity)
                continue;
        }
        std::int64_t outer = 1, inner = 1;
        for (std::size_t k = 0; k < d; ++k)
            outer *= shape[k];
        for (std::size_t k = d + 1; k < shape.size(); ++k)
            inner *= shape[k];
        const std::int64_t len = shape[d];
        std::vector<double> next(static_cast<std::size_t>(outer * outLen * inner));
        for (std::int64_t o = 0; o < outer; ++o)
            for (std::int64_t j = 0; j < outLen; ++j) {
                double *dst = next.data() + (o * outLen + j) * inner;
                if (taps.outside[static_cast<std::size_t>(j)]) {
                    std::fill(dst, dst + inner, extrapolation);
                    continue;
                }
                std::fill(dst, dst + inner, 0.0);
                for (const Tap &tap : taps.taps[static_cast<std::size_t>(j)]) {
                    const double *src = cur.data() + (o * len + tap.index) * inner;
                    for (std::int64_t i = 0; i < inner; ++i)
                        dst[i] += tap.weight * src[i];
                }
            }
        cur.swap(next);
        shape[d] = outLen;
    }
    T *po = out.as<T>();
    for (std::int64_t e = 0; e < out.elementCount(); ++e) {
        if constexpr (std::is_floating_point_v<T>)
            po[e] = static_cast<T>(cur[static_cast<std::size_t>(e)]);
        else
            po[e] = static_cast<T>(std::nearbyint(cur[static_cast<std::size_t>(e)]));
    }
}

// Scales and output sizes on every axis, from `scales` or `sizes` (on `axes`).
struct ResizeGeometry
{
    std::vector<double> scales;
    Shape outShape;
    std::vector<double> roiStart, roiEnd;
};

Result<ResizeGeometry> resizeGeometry(KernelContext &ctx, const Tensor &x, const Tensor *roi,
                                      const Tensor *scales, const Tensor *sizes, bool crop)
{
    const auto rank = static_cast<std::int64_t>(x.rank());
    std::vector<std::int64_t> axes = ctx.node().intsAttr("axes");
    if (axes.empty())
        for (std::int64_t d = 0; d < rank; ++d)
            axes.push_back(d);
    for (auto &a : axes) {
        auto n = normalizeAxis(a, rank);
        if (!n)
            return ctx.invalid("axis " + std::to_string(a) + " out of range");
        a = *n;
    }
    ResizeGeometry g;
    g.scales.assign(x.rank(), 1.0);
    g.outShape = x.shape();
    g.roiStart.assign(x.rank(), 0.0);
    g.roiEnd.assign(x.rank(), 1.0);
    if (crop && roi && roi->elementCount() > 0) {
        if (roi->elementCount() != 2 * static_cast<std::int64_t>(axes.size()))
            return ctx.invalid("roi has " + std::to_string(roi->elementCount()) +
                               " values, expected " + std::to_string(2 * axes.size()));
        for (std::size_t i = 0; i < axes.size(); ++i) {
            auto d = static_cast<std::size_t>(axes[i]);
            g.roiStart[d] = roi->scalarAsDouble(static_cast<std::int64_t>(i));
            g.roiEnd[d] = roi->scalarAsDouble(static_cast<std::int64_t>(i + axes.size()));
        }
    }
    if (sizes && sizes->elementCount() > 0) {
        if (sizes->elementCount() != static_cast<std::int64_t>(axes.size()))
            return ctx.invalid("sizes has " + std::to_string(sizes->elementCount()) +
                               " values for " + std::to_string(axes.size()) + " axes");
        std::string policy = ctx.node().stringAttr("keep_aspect_ratio_policy", "stretch");
        std::vector<double> ratio(axes.size());
        for (std::size_t i = 0; i < axes.size(); ++i)
            ratio[i] = static_cast<double>(sizes->scalarAsInt(static_cast<std::int64_t>(i))) /
                       static_cast<double>(x.dim(static_cast<std::size_t>(axes[i])));
        if (policy != "stretch") {
            if (policy != "not_larger" && policy != "not_smaller")
                return ctx.invalid("keep_aspect_ratio_policy '" + policy + "'");
            double s = policy == "not_larger" ? *std::min_element(ratio.begin(), ratio.end())
                                              : *std::max_element(ratio.begin(), ratio.end());
            for (std::size_t i = 0; i < axes.size(); ++i) {
                auto d = static_cast<std::size_t>(axes[i]);
                g.outShape[d] =
                    static_cast<std::int64_t>(std::floor(s * static_cast<double>(x.dim(d)) + 0.5));
                g.scales[d] = s;
            }
            return g;
        }
        for (std::size_t i = 0; i < axes.size(); ++i) {
            auto d = static_cast<std::size_t>(axes[i]);
            g.outShape[d] = sizes->scalarAsInt(static_cast<std::int64_t>(i));
            g.scales[d] = ratio[i];
        }
        return g;
    }
    if (!scales || scales->elementCount() == 0)
        return ctx.invalid("neither scales nor sizes given");
    if (scales->elementCount() != static_cast<std::int64_t>(axes.size()))
        return ctx.invalid("scales has " + std::to_string(scales->elementCount()) + " values for " +
                           std::to_string(axes.size()) + " axes");
    for (std::size_t i = 0; i < axes.size(); ++i) {
        auto d = static_cast<std::size_t>(axes[i]);
        double s = scales->scalarAsDouble(static_cast<std::int64_t>(i));
        if (!(s > 0))
            return ctx.invalid("scale " + std::to_string(s) + " is not positive");
        g.scales[d] = s;
        g.outShape[d] = static_cast<std::int64_t>(std::floor(static_cast<double>(x.dim(d)) * s));
    }
    return g;
}

Status resizeWith(KernelContext &ctx, const ResizeAttrs &attrs, const ResizeGeometry &g)
{
    const Tensor &x = ctx.input(0);
    if (attrs.mode != "nearest" && attrs.mode != "linear" && attrs.mode != "cubic")
        return ctx.unsupported("mode '" + attrs.mode + "'");
    static const char *kTransforms[] = {
        "half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners",
        "asymmetric", "tf_half_pixel_for_nn", "tf_crop_and_resize"};
    if (std::find(std::begin(kTransforms), std::end(kTransforms), attrs.transform) ==
        std::end(kTransforms))
        return ctx.unsupported("coordinate_transformation_mode '" + attrs.transform + "'");
    unsigned mask = attrs.mode == "nearest" ? kAllNumeric : kFloats;
    if (!dispatch(x.type(), mask, [](auto) {}))
        return ctx.unsupported("element type " + typeName(x.type()) + " with mode " + attrs.mode);
    std::vector<AxisTaps> axes;
    for (std::size_t d = 0; d < x.rank(); ++d) {
        if (x.dim(d) == 0 && g.outShape[d] > 0)
            return ctx.invalid("cannot resize an empty axis");
        axes.push_back(
            axisTaps(attrs, x.dim(d), g.outShape[d], g.scales[d], g.roiStart[d], g.roiEnd[d]));
    }
    SB_ASSIGN_OR_RETURN(Tensor * out, ctx.allocateOutput(0, x.type(), g.outShape));
    dispatch(x.type(), mask,
             [&](auto tag) { interpolate<decltype(tag)>(x, *out, axes, attrs.extrapolation); });
    return Status::success();
}

Status resizeKernel(KernelContext &ctx)
{
    const auto &node = ctx.node();
    ResizeAttrs attrs;
    attrs.mode = node.stringAttr("mode", "nearest");
    if (node.intAttr("antialias", 0) != 0)
        return ctx.unsupported("antialias = 1");
    const Tensor *roi = nullptr, *scales = nullptr, *sizes = nullptr;
    if (ctx.opset() < 11) {
        attrs.legacy = true;
        scales = &ctx.input(1);
    } else {
        attrs.transform = node.stringAttr("coordinate_transformation_mode", "half_pixel");
        attrs.nearestMode = node.stringAttr("nearest_mode", "round_prefer_floor");
        attrs.cubicA = node.floatAttr("cubic_coeff_a", -0.75f);
        attrs.excludeOutside = node.intAttr("exclude_outside", 0) != 0;
        attrs.extrapolation = node.floatAttr("extrapolation_value", 0.0f);
        roi = ctx.hasInput(1) ? &ctx.input(1) : nullptr;
        scales = ctx.hasInput(2) ? &ctx.input(2) : nullptr;
        sizes = ctx.hasInput(3) ? &ctx.input(3) : nullptr;
    }
    SB_ASSIGN_OR_RETURN(ResizeGeometry g, resizeGeometry(ctx, ctx.input(0), roi, scales, sizes,
                                                         attrs.transform == "tf_crop_and_resize"));
    return resizeWith(ctx, attrs, g);
}

Status upsampleKernel(KernelContext &ctx)
{
    ResizeAttrs attrs;
    attrs.legacy = true;
    attrs.mode = ctx.node().stringAttr("mode", "nearest");
    if (attrs.mode == "bilinear")
        attrs.mode = "linear";
    const Tensor &x = ctx.input(0);
    ResizeGeometry g;
    g.outShape = x.shape();
    g.roiStart.assign(x.rank(), 0.0);
    g.roiEnd.assign(x.rank(), 1.0);
    std::vector<double> scales;
    if (ctx.opset() < 9) { // opset 7: scales is a float list attribute
        const graph::Attribute *attr = ctx.node().attribute("scales");
        if (!attr)
            return ctx.invalid("scales attribute missing");
        scales.assign(attr->floats.begin(), attr->floats.end());
    } else {
        for (std::int64_t i = 0; i < ctx.input(1).elementCount(); ++i)
            scales.push_back(ctx.input(1).scalarAsDouble(i));
    }
    if (scales.size() != x.rank())
        return ctx.invalid("scales has " + std::to_string(scales.size()) + " values for rank " +
                           std::to_string(x.rank()));
    g.scales = scales;
    for (std::size_t d = 0; d < x.rank(); ++d)
        g.outShape[d] =
            static_cast<std::int64_t>(std::floor(static_cast<double>(x.dim(d)) * scales[d]));
    return resizeWith(ctx, attrs, g);
}

} // namespace

void registerReferenceResize(KernelRegistry &r)
{
    addReference(r, "Resize", resizeKernel);
    addReference(r, "Upsample", upsampleKernel);
}

} // namespace sb::kernels
