return await Hailo.Hosting.ServiceHost.MainAsync(args, HailoScrfd.ScrfdService.Definition);
