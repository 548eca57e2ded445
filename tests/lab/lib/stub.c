/* Stand-in for a Kubernetes component binary in the kubeharden lab.
 * It is installed inside a lab node under the component's name
 * (/usr/local/bin/kube-apiserver, /usr/bin/kubelet, ...) and started with the
 * fixture's argv, so /proc/<pid>/cmdline, comm and exe look like the real
 * thing. It does nothing but wait to be killed. */
#include <unistd.h>

int main(void)
{
	for (;;)
		pause();
}
