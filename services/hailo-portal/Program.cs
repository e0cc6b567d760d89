return await Hailo.Hosting.ServiceHost.MainAsync(args, HailoPortal.PortalService.Definition);
