#include "ui/graph/node_mime.h"

#include <QDataStream>
#include <QIODevice>

namespace sb::ui {

QMimeData *makeNodeMimeData(const QVector<graph::NodeId> &nodes)
{
    QByteArray bytes;
    QDataStream stream(&bytes, QIODevice::WriteOnly);
    stream << qint32(nodes.size());
    for (graph::NodeId id : nodes)
        stream << qint32(id);
    auto *data = new QMimeData;
    data->setData(kNodeMimeType, bytes);
    return data;
}

QVector<graph::NodeId> nodesFromMimeData(const QMimeData *data)
{
    QVector<graph::NodeId> nodes;
    if (!data || !data->hasFormat(kNodeMimeType))
        return nodes;
    QByteArray bytes = data->data(kNodeMimeType);
    QDataStream stream(&bytes, QIODevice::ReadOnly);
    qint32 count = 0;
    stream >> count;
    if (count < 0 || count > (1 << 24))
        return nodes;
    nodes.reserve(count);
    for (qint32 i = 0; i < count && stream.status() == QDataStream::Ok; ++i) {
        qint32 id = -1;
        stream >> id;
        nodes.push_back(id);
    }
    return nodes;
}

} // namespace sb::ui
