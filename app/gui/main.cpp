// shardbench: the workbench GUI.
#include <QApplication>
#include <QLabel>

int main(int argc, char **argv)
{
    QApplication app(argc, argv);
    QApplication::setApplicationName("Shardbench");
    QApplication::setOrganizationName("Shardbench");
    QApplication::setApplicationVersion(SHARDBENCH_VERSION);
    QLabel label("Shardbench");
    label.show();
    return app.exec();
}
