global using Hailo.Management;
