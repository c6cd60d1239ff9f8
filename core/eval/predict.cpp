#include "core/eval/predict.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <fstream>
#include <set>

namespace sb::eval {

namespace {

bool looksLikeProbabilityName(const std::string &name)
{
    std::string lower = name;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return lower.find("prob") != std::string::npos;
}

// [N, C] / [N] float32 with N == rows (FloatOutputs hold float32 only).
bool isProbabilityShaped(const FloatArray &t, std::size_t rows)
{
    if (t.rank() == 2)
        return t.dim(0) == static_cast<std::int64_t>(rows) && t.dim(1) >= 1;
    return t.rank() == 1 && t.dim(0) == static_cast<std::int64_t>(rows);
}

std::string pickOutput(const ModelRunner &model, const FloatOutputs &outputs, std::size_t rows)
{
    std::string chosen;
    for (const std::string &name : model.outputNames) {
        auto it = outputs.find(name);
        if (it == outputs.end() || !isProbabilityShaped(it->second, rows))
            continue;
        if (chosen.empty() || (looksLikeProbabilityName(name) && !looksLikeProbabilityName(chosen)))
            chosen = name;
    }
    return chosen;
}

std::string csvField(std::string_view field)
{
    if (field.find_first_of(",\"\r\n") == std::string_view::npos)
        return std::string(field);
    std::string quoted = "\"";
    for (char c : field) {
        if (c == '"')
            quoted += '"';
        quoted += c;
    }
    quoted += '"';
    return quoted;
}

// Probabilities come from float32 tensors: their shortest float round-trip
// text is exact and short ("0.973114" rather than "0.97311401367187500").
std::string floatText(double value)
{
    char buffer[32];
    auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, static_cast<float>(value));
    return ec == std::errc() ? std::string(buffer, end) : formatNumber(value);
}

} // namespace

Result<std::vector<std::string>> resolveFeatureColumns(const Table &table,
                                                       const PredictOptions &options)
{
    std::vector<std::string> names;
    if (!options.features.empty() && !options.featurePrefix.empty())
        return makeError(ErrorCode::InvalidInput,
                         "give either feature columns or a feature prefix, not both");
    if (!options.features.empty()) {
        names = options.features;
    } else if (!options.featurePrefix.empty()) {
        for (const Column &c : table.columns)
            if (c.name.rfind(options.featurePrefix, 0) == 0)
                names.push_back(c.name);
        if (names.empty())
            return makeError(ErrorCode::InvalidInput, table.fileName + ": no column starts with '" +
                                                          options.featurePrefix + "'");
    } else {
        return makeError(ErrorCode::InvalidInput, "no feature columns given");
    }
    std::set<std::string> seen;
    for (const std::string &name : names) {
        const Column *column = table.column(name);
        if (!column)
            return makeError(ErrorCode::InvalidInput,
                             table.fileName + ": no column '" + name + "'");
        if (column->type != ColumnType::Numerical)
            return makeError(ErrorCode::InvalidInput, table.fileName + ": column '" + name +
                                                          "' is " + columnTypeName(column->type) +
                                                          "; model features must be numerical");
        if (!seen.insert(name).second)
            return makeError(ErrorCode::InvalidInput, "feature column '" + name + "' given twice");
    }
    return names;
}

Result<Predictions> predict(const Table &table, const ModelRunner &model,
                            const PredictOptions &options)
{
    SB_ASSIGN_OR_RETURN(std::vector<std::string> features, resolveFeatureColumns(table, options));
    const graph::TensorInfo &info = model.inputInfo;
    if (info.type != graph::ElementType::Float32 && info.type != graph::ElementType::Undefined)
        return makeError(ErrorCode::Unsupported, "model input '" + model.inputName + "' is " +
                                                     graph::elementTypeName(info.type) +
                                                     "; predict feeds float32");
    if (info.shape.rankKnown && info.shape.rank() != 2)
        return makeError(ErrorCode::InvalidInput, "model input '" + model.inputName +
                                                      "' has rank " +
                                                      std::to_string(info.shape.rank()) +
                                                      "; predict feeds [batch, features]");
    if (info.shape.rankKnown && info.shape.rank() == 2 && info.shape.dims[1].isKnown() &&
        info.shape.dims[1].value != static_cast<std::int64_t>(features.size()))
        return makeError(ErrorCode::InvalidInput,
                         "model input '" + model.inputName + "' takes " +
                             std::to_string(info.shape.dims[1].value) + " features, " +
                             std::to_string(features.size()) + " feature columns given");
    // A baked batch dim: every batch must have exactly that many rows.
    std::size_t batchRows = std::max<std::size_t>(options.batchRows, 1);
    const bool fixedBatch =
        info.shape.rankKnown && info.shape.rank() == 2 && info.shape.dims[0].isKnown();
    if (fixedBatch)
        batchRows = static_cast<std::size_t>(info.shape.dims[0].value);

    std::vector<const Column *> columns;
    for (const std::string &name : features)
        columns.push_back(table.column(name));
    // Missing values first, so a bad file fails before any model run.
    for (std::size_t c = 0; c < columns.size() && !options.allowMissing; ++c)
        for (std::size_t r = 0; r < table.rows; ++r)
            if (std::isnan(columns[c]->numbers[r]))
                return makeError(ErrorCode::InvalidInput,
                                 table.fileName + ":" +
                                     std::to_string(r < table.lines.size() ? table.lines[r] : 0) +
                                     ": column '" + features[c] +
                                     "': missing value (the model needs every feature)");
    if (fixedBatch && table.rows % batchRows != 0)
        return makeError(ErrorCode::InvalidInput,
                         "model input '" + model.inputName + "' has a fixed batch of " +
                             std::to_string(batchRows) + " rows; " + table.fileName + " has " +
                             std::to_string(table.rows));

    const std::size_t nFeatures = features.size();
    auto makeInput = [&](std::size_t begin, std::size_t n) {
        FloatArray input;
        input.shape = {static_cast<std::int64_t>(n), static_cast<std::int64_t>(nFeatures)};
        input.values.resize(n * nFeatures);
        float *x = input.values.data();
        for (std::size_t c = 0; c < nFeatures; ++c) {
            const double *values = columns[c]->numbers.data() + begin;
            for (std::size_t r = 0; r < n; ++r)
                x[r * nFeatures + c] = static_cast<float>(values[r]);
        }
        return input;
    };
    if (table.rows == 0)
        return makeError(ErrorCode::InvalidInput, table.fileName + ": no rows");
    SB_ASSIGN_OR_RETURN(Predictions out,
                        predictBatches(table.rows, batchRows, makeInput, model, options));
    out.featureColumns = features;
    return out;
}

Result<Predictions>
predictBatches(std::size_t rows, std::size_t batchRows,
               const std::function<FloatArray(std::size_t, std::size_t)> &makeInput,
               const ModelRunner &model, const PredictOptions &options)
{
    Predictions out;
    out.rows = rows;
    batchRows = std::max<std::size_t>(batchRows, 1);
    for (std::size_t begin = 0; begin < rows; begin += batchRows) {
        if (options.cancel && options.cancel->isCancelled())
            return makeError(ErrorCode::Cancelled, "prediction cancelled");
        const std::size_t n = std::min(batchRows, rows - begin);
        SB_ASSIGN_OR_RETURN(FloatOutputs outputs, model.run(makeInput(begin, n)));
        if (out.outputName.empty()) {
            out.outputName = pickOutput(model, outputs, n);
            if (out.outputName.empty())
                return makeError(ErrorCode::InvalidInput,
                                 "no model output is float32 [batch, classes] or [batch] "
                                 "(probabilities)");
            const FloatArray &t = outputs.at(out.outputName);
            std::size_t classes = t.rank() == 2 ? static_cast<std::size_t>(t.dim(1)) : 1;
            if (classes == 1)
                classes = 2; // P(label 1) of a binary model
            for (std::size_t k = 0; k < classes; ++k)
                out.labels.push_back(std::to_string(k));
            out.proba.reserve(rows * classes);
            out.predicted.reserve(rows);
        }
        auto it = outputs.find(out.outputName);
        if (it == outputs.end() || !isProbabilityShaped(it->second, n))
            return makeError(ErrorCode::Runtime,
                             "model output '" + out.outputName + "' changed shape between batches");
        const FloatArray &t = it->second;
        const std::size_t width = t.rank() == 2 ? static_cast<std::size_t>(t.dim(1)) : 1;
        const std::size_t classes = out.labels.size();
        if ((width == 1 ? 2 : width) != classes)
            return makeError(ErrorCode::Runtime,
                             "model output '" + out.outputName + "' changed width between batches");
        const float *p = t.values.data();
        for (std::size_t r = 0; r < n; ++r) {
            std::size_t best = 0;
            double bestValue = -INFINITY;
            for (std::size_t k = 0; k < classes; ++k) {
                double v = width == 1 ? (k == 1 ? double(p[r]) : 1.0 - double(p[r]))
                                      : double(p[r * width + k]);
                out.proba.push_back(v);
                if (v > bestValue) {
                    bestValue = v;
                    best = k;
                }
            }
            out.predicted.push_back(static_cast<std::int32_t>(best));
        }
        if (options.progress)
            options.progress(double(begin + n) / double(rows),
                             std::to_string(begin + n) + " / " + std::to_string(rows) + " rows");
    }
    return out;
}

std::vector<std::string> predictionColumnNames(const Predictions &predictions)
{
    std::vector<std::string> names{"prediction"};
    for (const std::string &label : predictions.labels)
        names.push_back("proba_" + label);
    return names;
}

Status appendPredictionColumns(Table &table, const Predictions &predictions,
                               const std::vector<std::string> &only)
{
    auto wanted = [&only](const std::string &name) {
        return only.empty() || std::find(only.begin(), only.end(), name) != only.end();
    };
    for (const std::string &name : predictionColumnNames(predictions))
        if (wanted(name) && table.column(name))
            return makeError(ErrorCode::InvalidInput, table.fileName + ": already has a column '" +
                                                          name +
                                                          "' (predictions would replace it)");
    if (predictions.rows != table.rows)
        return makeError(ErrorCode::Internal, "prediction rows differ from the table's");
    if (wanted("prediction")) {
        Column prediction;
        prediction.name = "prediction";
        prediction.numbers.reserve(table.rows);
        for (std::int32_t k : predictions.predicted)
            prediction.numbers.push_back(static_cast<double>(k)); // labels are 0..C-1
        table.columns.push_back(std::move(prediction));
    }
    for (std::size_t k = 0; k < predictions.labels.size(); ++k) {
        if (!wanted("proba_" + predictions.labels[k]))
            continue;
        Column proba;
        proba.name = "proba_" + predictions.labels[k];
        proba.numbers.reserve(table.rows);
        for (std::size_t r = 0; r < table.rows; ++r)
            proba.numbers.push_back(predictions.probability(r, k));
        table.columns.push_back(std::move(proba));
    }
    return Status::success();
}

Status writePredictionsCsv(const std::filesystem::path &input, const Predictions &predictions,
                           const std::filesystem::path &output)
{
    SB_ASSIGN_OR_RETURN(CsvReader reader, CsvReader::open(input));
    std::vector<std::string> added = predictionColumnNames(predictions);
    for (const std::string &name : added)
        if (reader.columnIndex(name) >= 0)
            return makeError(ErrorCode::InvalidInput, reader.fileName() +
                                                          ": already has a column '" + name +
                                                          "' (predictions would replace it)");
    std::ofstream file(output, std::ios::binary);
    if (!file)
        return makeError(ErrorCode::Io, output.string() + ": cannot write");
    const auto &header = reader.header();
    for (std::size_t c = 0; c < header.size(); ++c)
        file << (c ? "," : "") << csvField(header[c]);
    for (const std::string &name : added)
        file << "," << name;
    file << "\n";
    std::size_t row = 0;
    CsvBatch batch;
    std::string line;
    while (true) {
        SB_ASSIGN_OR_RETURN(bool more, reader.next(batch));
        if (!more)
            break;
        for (std::size_t r = 0; r < batch.rows; ++r, ++row) {
            if (row >= predictions.rows)
                return makeError(ErrorCode::InvalidInput,
                                 reader.fileName() + " has more rows than were predicted");
            line.clear();
            for (std::size_t c = 0; c < batch.columns; ++c) {
                if (c)
                    line += ',';
                line += csvField(batch.field(r, c));
            }
            line += ',';
            line += predictions.labels[static_cast<std::size_t>(predictions.predicted[row])];
            for (std::size_t k = 0; k < predictions.labels.size(); ++k) {
                line += ',';
                line += floatText(predictions.probability(row, k));
            }
            line += '\n';
            file << line;
        }
    }
    if (row != predictions.rows)
        return makeError(ErrorCode::InvalidInput,
                         reader.fileName() + " has fewer rows than were predicted");
    file.close();
    if (!file)
        return makeError(ErrorCode::Io, output.string() + ": write failed");
    return Status::success();
}

} // namespace sb::eval
