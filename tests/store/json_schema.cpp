#include "json_schema.h"

namespace sb::test {

namespace {

using nlohmann::json;

bool hasType(const json &value, const std::string &type)
{
    if (type == "object")
        return value.is_object();
    if (type == "array")
        return value.is_array();
    if (type == "string")
        return value.is_string();
    if (type == "number")
        return value.is_number();
    if (type == "integer")
        return value.is_number_integer() ||
               (value.is_number_float() &&
                value.get<double>() ==
                    static_cast<double>(static_cast<long long>(value.get<double>())));
    if (type == "boolean")
        return value.is_boolean();
    if (type == "null")
        return value.is_null();
    return false;
}

const json *resolve(const json &root, const std::string &ref)
{
    std::string name;
    if (ref.rfind("#/definitions/", 0) == 0)
        name = ref.substr(14);
    else if (ref.rfind("#definitions/", 0) == 0)
        name = ref.substr(13);
    else
        return nullptr;
    if (!root.contains("definitions") || !root["definitions"].contains(name))
        return nullptr;
    return &root["definitions"][name];
}

void validate(const json &root, const json &schema, const json &value, const std::string &path,
              std::vector<std::string> &errors)
{
    if (schema.contains("$ref")) {
        const json *target = resolve(root, schema["$ref"].get<std::string>());
        if (!target) {
            errors.push_back(path + ": unresolvable $ref " + schema["$ref"].get<std::string>());
            return;
        }
        validate(root, *target, value, path, errors);
    }
    if (schema.contains("type")) {
        const json &type = schema["type"];
        bool ok = false;
        if (type.is_string())
            ok = hasType(value, type.get<std::string>());
        else
            for (const json &alternative : type)
                ok = ok || hasType(value, alternative.get<std::string>());
        if (!ok) {
            errors.push_back(path + ": expected " + type.dump() + ", got " + value.type_name());
            return;
        }
    }
    if (schema.contains("enum")) {
        bool found = false;
        for (const json &option : schema["enum"])
            found = found || option == value;
        if (!found)
            errors.push_back(path + ": " + value.dump() + " not in enum " + schema["enum"].dump());
    }
    if (value.is_object()) {
        if (schema.contains("required"))
            for (const json &key : schema["required"])
                if (!value.contains(key.get<std::string>()))
                    errors.push_back(path + ": missing required \"" + key.get<std::string>() +
                                     "\"");
        const json properties =
            schema.contains("properties") ? schema["properties"] : json::object();
        for (auto it = value.begin(); it != value.end(); ++it) {
            if (properties.contains(it.key()))
                validate(root, properties[it.key()], it.value(), path + "." + it.key(), errors);
            else if (schema.contains("additionalProperties") &&
                     schema["additionalProperties"].is_boolean() &&
                     !schema["additionalProperties"].get<bool>())
                errors.push_back(path + ": property \"" + it.key() + "\" is not allowed");
        }
    }
    if (value.is_array() && schema.contains("items")) {
        for (std::size_t i = 0; i < value.size(); ++i)
            validate(root, schema["items"], value[i], path + "[" + std::to_string(i) + "]", errors);
    }
    if (schema.contains("oneOf")) {
        int matches = 0;
        for (const json &alternative : schema["oneOf"]) {
            std::vector<std::string> sub;
            validate(root, alternative, value, path, sub);
            matches += sub.empty() ? 1 : 0;
        }
        if (matches != 1)
            errors.push_back(path + ": matches " + std::to_string(matches) +
                             " of the oneOf alternatives (exactly 1 required)");
    }
}

} // namespace

std::vector<std::string> validateJsonSchema(const json &schema, const json &instance)
{
    std::vector<std::string> errors;
    validate(schema, schema, instance, "$", errors);
    return errors;
}

} // namespace sb::test
